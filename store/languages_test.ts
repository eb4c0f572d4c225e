import assert from "node:assert/strict";
import type { CommitWriteEvent, FirehoseEvent } from "@bsky/shared/events";
import { languageCode } from "@bsky/shared/langs";
import { hiddenIds } from "./hidden.ts";
import { idOf } from "./ids.ts";
import { languageWindows, scanLanguagePosts, trimLanguageHours } from "./languages.ts";
import { HOUR_MS, LANGUAGE_ENTRY_BYTES, storeKeys } from "./layout.ts";
import { storeExpiry } from "./retention.ts";
import { A, B, C, create, del, nextSeq, T0, withStore } from "./testing/fixtures.ts";

const POST = "app.bsky.feed.post";
const post = (did: string, rkey: string, langs: string[] | undefined, time = T0, extra = {}) =>
  create(did, POST, rkey, { chars: 5, ...(langs ? { langs } : {}), ...extra }, time);

/** Posts per account (by DID) of each language over a window, as plain objects. */
async function counts(
  redis: Parameters<typeof languageWindows>[0],
  hours: number,
  now = T0,
): Promise<Record<string, Record<string, number>>> {
  const { byWindow } = await languageWindows(redis, [hours], now, await hiddenIds(redis));
  const ids = new Map<number, string>();
  for (const did of [A, B, C]) {
    const id = await idOf(redis, did);
    if (id !== undefined) ids.set(id, did);
  }
  const out: Record<string, Record<string, number>> = {};
  for (const [lang, byId] of byWindow.get(hours)!) {
    out[lang] = Object.fromEntries([...byId].map(([id, n]) => [ids.get(id) ?? String(id), n]));
  }
  return out;
}

Deno.test("each language of a post counts once for its author in the post's hour; a post with none counts nowhere", async () => {
  await withStore(async (redis, applier) => {
    await applier.apply([
      post(A, "p1", ["pt", "en"]),
      post(A, "p2", ["pt"], T0 - 2 * HOUR_MS),
      post(B, "p3", ["en"], T0 - 30 * HOUR_MS),
      post(B, "p4", undefined),
      post(C, "p5", ["ja"], T0 - 80 * HOUR_MS),
      // A reply in Korean: counted as a reply and as a post in Korean.
      post(C, "p6", ["ko"], T0, { parent: A, root: A }),
    ]);
    assert.deepEqual(await counts(redis, 24), {
      pt: { [A]: 2 },
      en: { [A]: 1 },
      ko: { [C]: 1 },
    });
    assert.deepEqual(await counts(redis, 72), {
      pt: { [A]: 2 },
      en: { [A]: 1, [B]: 1 },
      ko: { [C]: 1 },
    });
    // Each is 6 bytes in its hour's string, which expires with the retention like the logs.
    const hour = Math.floor(T0 / HOUR_MS);
    assert.equal(await redis.strlen(storeKeys.languagePosts(hour)), 3 * LANGUAGE_ENTRY_BYTES);
    const expireAt = (hour + 1) * 3600 + 30 * 86400;
    assert.equal(await redis.call("EXPIRETIME", storeKeys.languagePosts(hour)), expireAt);
    assert.equal(
      storeExpiry(storeKeys.languagePosts(hour), { retentionDays: 30, now: T0 }),
      expireAt,
    );
    // The same events again count nothing more.
    await applier.apply([post(A, "p1", ["pt", "en"]), post(B, "p3", ["en"], T0 - 30 * HOUR_MS)]);
    assert.deepEqual((await counts(redis, 72)).en, { [A]: 1, [B]: 1 });
  });
});

Deno.test("a deleted post is taken back while remembered; an update counts its new languages instead", async () => {
  await withStore(async (redis, applier) => {
    await applier.apply([post(A, "p1", ["pt", "en"]), post(B, "p2", ["de"])]);
    await applier.apply([del(A, POST, "p1", T0 + HOUR_MS)]);
    const update: FirehoseEvent = {
      ...(post(B, "p2", ["fr"]) as CommitWriteEvent),
      action: "update",
      seq: nextSeq(),
    };
    await applier.apply([update]);
    assert.deepEqual(await counts(redis, 24, T0 + HOUR_MS), { fr: { [B]: 1 } });
    // The undo entries are in the post's own hour: 2 + 2 for Alice's, 1 + 1 + 1 for Bob's.
    const hour = Math.floor(T0 / HOUR_MS);
    const seen: [number, number, number][] = [];
    scanLanguagePosts(
      await redis.getBuffer(storeKeys.languagePosts(hour)) as Uint8Array,
      (id, lang, by) => seen.push([id, lang, by]),
    );
    const [a, b] = [(await idOf(redis, A))!, (await idOf(redis, B))!];
    const pt = languageCode("pt"), en = languageCode("en"), de = languageCode("de");
    assert.deepEqual(
      seen.sort(),
      [
        [a, en, -1],
        [a, en, 1],
        [a, pt, -1],
        [a, pt, 1],
        [b, de, -1],
        [b, de, 1],
        [b, languageCode("fr"), 1],
      ].sort(),
    );
  });
});

Deno.test("hidden accounts are left out of the counts, and counted again once shown", async () => {
  await withStore(async (redis, applier) => {
    await applier.apply([post(A, "p1", ["es"]), post(B, "p2", ["es"])]);
    const account = (active: boolean): FirehoseEvent => ({
      v: 1,
      kind: "account",
      seq: nextSeq(),
      time: T0,
      did: B,
      active,
      ...(active ? {} : { status: "deactivated" }),
    });
    await applier.apply([account(false)]);
    assert.deepEqual(await counts(redis, 24), { es: { [A]: 1 } });
    await applier.apply([account(true)]);
    assert.deepEqual(await counts(redis, 24), { es: { [A]: 1, [B]: 1 } });
  });
});

Deno.test("scanLanguagePosts() reads back every id, language and sign the script can write", async () => {
  await withStore(async (redis, applier) => {
    // The largest id and code: an entry's 48 bits are all used by them.
    const events = ["aa", "zzz"].map((lang, i) => post(A, `p${i}`, [lang]));
    await applier.apply(events);
    const data = (await redis.getBuffer(storeKeys.languagePosts(Math.floor(T0 / HOUR_MS))))!;
    const got: number[][] = [];
    scanLanguagePosts(data, (id, lang, by) => got.push([id, lang, by]));
    const a = (await idOf(redis, A))!;
    assert.deepEqual(got, [[a, 1, 1], [a, 18_252, 1]]);
    const max = new Uint8Array(6).fill(0xff);
    const big: number[][] = [];
    scanLanguagePosts(max, (id, lang, by) => big.push([id, lang, by]));
    assert.deepEqual(big, [[2 ** 32 - 1, 32767, -1]]);
  });
});

Deno.test("trimLanguageHours() gives closed hours' strings back their growth slack, entries and TTL kept", async () => {
  await withStore(async (redis, applier) => {
    const hour = Math.floor(T0 / HOUR_MS) - 1;
    const events = Array.from(
      { length: 3000 },
      (_, k) => post(k % 2 ? A : B, `t${k}`, ["en", "pt"], hour * HOUR_MS + k),
    );
    for (let i = 0; i < events.length; i += 100) await applier.apply(events.slice(i, i + 100));
    const key = storeKeys.languagePosts(hour);
    const data = await redis.getBuffer(key);
    const ttl = await redis.ttl(key);
    const before = Number(await redis.call("MEMORY", "USAGE", key, "SAMPLES", "0"));
    assert.ok(before > data!.length * 1.2, `slack before: ${before} for ${data!.length}`);
    const freed = await trimLanguageHours(redis, T0);
    const after = Number(await redis.call("MEMORY", "USAGE", key, "SAMPLES", "0"));
    assert.equal(freed, before - after);
    assert.ok(after < data!.length * 1.3 + 128, `${after} for ${data!.length}`);
    assert.deepEqual(await redis.getBuffer(key), data);
    assert.ok(Math.abs((await redis.ttl(key)) - ttl) <= 1);
    assert.equal(await trimLanguageHours(redis, T0), 0, "nothing more to free");
    // Now's hour is not touched: it still grows.
    assert.equal(await redis.exists(storeKeys.languagePosts(hour + 1)), 0);
  });
});
