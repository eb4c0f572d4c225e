import assert from "node:assert/strict";
import type { FirehoseEvent } from "@bsky/shared/events";
import { connectRedis, type Redis } from "@bsky/shared/redis";
import { startRedisServer } from "@bsky/shared/testing/redis_server";
import { Buffer } from "node:buffer";
import { Applier, recordArg, rkeyField } from "./apply.ts";
import { idOf, OPTED_OUT, profiles, searchHandles, topInteractions, totals } from "./queries.ts";
import { compactWeek } from "./rollup.ts";
import { didKey, didOfKey, firstHourCellDay, HOUR_MS, rolledLength, storeKeys } from "./layout.ts";
import { didOf, generateEvents } from "./testing/generate.ts";

const A = "did:plc:alice", B = "did:plc:bob", C = "did:plc:carol";
// Keys expire by the real clock, so the events happen now.
const T0 = Math.floor(Date.now() / HOUR_MS) * HOUR_MS + 30 * 60_000;
let seq = 0;
/** A created record of `collection` with the facts the indexer reads. */
const create = (
  did: string,
  collection: string,
  rkey: string,
  facts: Record<string, unknown>,
  time = T0,
): FirehoseEvent => ({
  v: 1,
  kind: "commit",
  seq: ++seq,
  time,
  did,
  action: "create",
  collection: collection as "app.bsky.feed.like",
  rkey,
  ...facts,
});
const like = (did: string, rkey: string, subject: string, time = T0) =>
  create(did, "app.bsky.feed.like", rkey, { subject }, time);
const del = (did: string, collection: string, rkey: string, time = T0): FirehoseEvent => ({
  v: 1,
  kind: "commit",
  seq: ++seq,
  time,
  did,
  action: "delete",
  collection: collection as "app.bsky.feed.like",
  rkey,
});

async function withStore(fn: (redis: Redis, applier: Applier) => Promise<void>) {
  await using server = await startRedisServer();
  const redis = await connectRedis(server.url, { name: "test" });
  try {
    await fn(redis, new Applier(redis, { retentionDays: 30, memoryHours: 48 }));
  } finally {
    redis.disconnect();
  }
}

const top = (
  redis: Redis,
  did: string,
  direction: "sent" | "received" | "both" | "mutual",
  windowHours = 24,
  now = T0,
) => topInteractions(redis, did, { direction, windowHours, limit: 10, now });

Deno.test("apply() counts each interaction once in both directions, whatever the redelivery", async () => {
  await withStore(async (redis, applier) => {
    const events = [like(A, "l1", B), like(A, "l2", B), like(A, "l3", A), like(C, "l4", B)];
    assert.deepEqual(await applier.apply(events), {
      applied: 3,
      duplicate: 0,
      unmatched: 0,
      late: 0,
    });
    const again = await applier.apply(events);
    assert.equal(again.applied, 0);
    assert.equal(again.duplicate, 3);
    assert.deepEqual(await top(redis, A, "sent"), [
      { did: B, like: 2, repost: 0, reply: 0, quote: 0, mention: 0, score: 2 },
    ]);
    const received = await top(redis, B, "received");
    assert.deepEqual(received?.map((c) => [c.did, c.like]), [[A, 2], [C, 1]]);
    assert.deepEqual(await totals(redis, A, 24, T0), {
      sent: { like: 2, repost: 0, reply: 0, quote: 0, mention: 0, block: 0 },
      received: { like: 0, repost: 0, reply: 0, quote: 0, mention: 0, block: 0 },
    });
  });
});

Deno.test("a delete takes back exactly what its create added, once", async () => {
  await withStore(async (redis, applier) => {
    const post = create(A, "app.bsky.feed.post", "p1", {
      parent: B,
      root: B,
      quote: C,
      mentions: [B, C, A],
      chars: 10,
    });
    await applier.apply([post, like(A, "l1", B)]);
    const before = await top(redis, A, "sent");
    assert.deepEqual(before?.map((c) => [c.did, c.like, c.reply, c.quote, c.mention]), [
      [B, 1, 1, 0, 1],
      [C, 0, 0, 1, 1],
    ]);
    const unpost = del(A, "app.bsky.feed.post", "p1", T0 + HOUR_MS);
    assert.equal((await applier.apply([unpost])).applied, 1);
    assert.equal((await applier.apply([unpost])).duplicate, 1, "a delete delivered again");
    assert.equal(
      (await applier.apply([post])).duplicate,
      1,
      "a create delivered again after its delete",
    );
    assert.deepEqual(
      (await top(redis, A, "sent", 48, T0 + HOUR_MS))?.map((c) => [c.did, c.like, c.reply]),
      [[B, 1, 0]],
    );
    assert.deepEqual(await top(redis, C, "received", 48, T0 + HOUR_MS), []);
  });
});

Deno.test("a delete after the record memory is counted as late and applied nowhere", async () => {
  await withStore(async (redis, applier) => {
    await applier.apply([like(A, "l1", B)]);
    const stats = await applier.apply([del(A, "app.bsky.feed.like", "l1", T0 + 49 * HOUR_MS)]);
    assert.equal(stats.late, 1);
    assert.equal(stats.applied, 0);
    const unknown = await applier.apply([del(A, "app.bsky.feed.like", "never")]);
    assert.equal(unknown.unmatched, 1);
    assert.equal((await top(redis, A, "sent", 72, T0 + 49 * HOUR_MS))?.[0].like, 1);
  });
});

Deno.test("an update takes back the old targets and counts the new ones, idempotently", async () => {
  await withStore(async (redis, applier) => {
    const base = {
      v: 1 as const,
      kind: "commit" as const,
      did: A,
      collection: "app.bsky.feed.post" as const,
      rkey: "p1",
      chars: 3,
    };
    await applier.apply([{ ...base, seq: 1, time: T0, action: "create", mentions: [B] }]);
    const update: FirehoseEvent = { ...base, seq: 2, time: T0, action: "update", mentions: [C] };
    await applier.apply([update]);
    await applier.apply([update]);
    assert.deepEqual((await top(redis, A, "sent"))?.map((c) => [c.did, c.mention]), [[C, 1]]);
  });
});

Deno.test("windows are exact to the hour and directions combine as documented", async () => {
  await withStore(async (redis, applier) => {
    await applier.apply([
      like(A, "old", B, T0 - 5 * HOUR_MS),
      like(A, "new", B, T0),
      like(B, "back", A, T0),
      like(C, "c1", A, T0),
      create(A, "app.bsky.feed.repost", "r1", { subject: C }),
    ]);
    assert.equal((await top(redis, A, "sent", 1))?.find((c) => c.did === B)?.like, 1);
    assert.equal((await top(redis, A, "sent", 6))?.find((c) => c.did === B)?.like, 2);
    const both = await top(redis, A, "both", 6);
    assert.deepEqual(both?.map((c) => [c.did, c.like, c.repost, c.score]), [[B, 3, 0, 3], [
      C,
      1,
      1,
      3,
    ]]);
    const mutual = await top(redis, A, "mutual", 6);
    // B: sent score 2, received 1 -> 1; C: sent 2 (repost), received 1 -> 1.
    assert.deepEqual(mutual?.map((c) => [c.did, c.score]), [[B, 1], [C, 1]]);
    assert.equal(await top(redis, "did:plc:nobody", "sent"), undefined);
  });
});

Deno.test("accounts that are deleted, taken down or deactivated disappear, and come back when active", async () => {
  await withStore(async (redis, applier) => {
    await applier.apply([like(A, "l1", B), like(C, "l2", A), like(A, "l3", C)]);
    // A's likes sent and received: its totals leave hidden counterparts out too.
    const likes = async () => {
      const t = await totals(redis, A, 24, T0);
      return [t?.sent.like, t?.received.like];
    };
    await applier.apply([{
      v: 1,
      kind: "account",
      seq: 100,
      time: T0,
      did: B,
      active: false,
      status: "deactivated",
    }]);
    assert.deepEqual((await top(redis, A, "sent"))?.map((c) => c.did), [C]);
    assert.deepEqual(await likes(), [1, 1]);
    await applier.apply([{ v: 1, kind: "account", seq: 99, time: T0, did: B, active: true }]);
    assert.deepEqual(
      (await top(redis, A, "sent"))?.map((c) => c.did),
      [C],
      "an older event changes nothing",
    );
    await applier.apply([{ v: 1, kind: "account", seq: 101, time: T0, did: B, active: true }]);
    assert.deepEqual((await top(redis, A, "sent"))?.map((c) => c.did).sort(), [B, C]);
    assert.deepEqual(await likes(), [2, 1]);
    await applier.apply([{
      v: 1,
      kind: "account",
      seq: 102,
      time: T0,
      did: C,
      active: false,
      status: "takendown",
    }]);
    assert.deepEqual((await top(redis, A, "both"))?.map((c) => c.did), [B]);
    assert.deepEqual(await likes(), [1, 0]);
  });
});

Deno.test("a posted opt code hides or shows its account, once, and only for the account it was made for", async () => {
  await withStore(async (redis, applier) => {
    await applier.apply([like(A, "l1", B), like(C, "l2", B), like(B, "l3", A)]);
    await applier.apply([{
      v: 1,
      kind: "identity",
      seq: ++seq,
      time: T0,
      did: A,
      handle: "al.test",
    }]);
    const code = (action: string, did: string, c: string) =>
      redis.set(storeKeys.optCode(c), `${did} ${action}`, "EX", 3600);
    const post = (did: string, rkey: string, opt: string) =>
      create(did, "app.bsky.feed.post", rkey, { chars: 20, opt });
    const receivers = async () => (await top(redis, B, "received"))?.map((c) => c.did).sort();
    await code("out", A, "AAAAAAAA");
    // C posts A's code: nothing happens.
    assert.equal((await applier.apply([post(C, "p1", "out:AAAAAAAA")])).unmatched, 1);
    assert.deepEqual(await receivers(), [A, C]);
    // A posts it (as a reply, which counts too): A is hidden everywhere.
    const reply = create(A, "app.bsky.feed.post", "p2", {
      chars: 20,
      opt: "out:AAAAAAAA",
      parent: B,
      root: B,
    });
    await applier.apply([reply]);
    assert.equal(await redis.get(storeKeys.optCode("AAAAAAAA")), `done ${A} out`);
    assert.ok(await redis.ttl(storeKeys.optCode("AAAAAAAA")) > 0, "the code still expires");
    assert.deepEqual(await receivers(), [C]);
    assert.equal((await profiles(redis, [A]))[0].status, OPTED_OUT);
    assert.deepEqual(await searchHandles(redis, "al", 10), []);
    assert.deepEqual((await top(redis, C, "both"))?.map((c) => c.did), [B]);
    // Redelivered, the post is not counted twice and the used code changes nothing.
    assert.equal((await applier.apply([reply])).unmatched, 1);
    assert.deepEqual(
      (await top(redis, B, "received"))?.map((c) => [c.did, c.reply]),
      [[C, 0]],
    );
    // The account deactivates and comes back: it stays opted out.
    const account = (active: boolean) =>
      ({ v: 1, kind: "account", seq: ++seq, time: T0, did: A, active }) as FirehoseEvent;
    await applier.apply([account(false), account(true)]);
    assert.deepEqual(await receivers(), [C]);
    assert.equal((await profiles(redis, [A]))[0].status, OPTED_OUT);
    // An opt-in code made for A, posted by A: shown again, with the reply counted once.
    await code("in", A, "BBBBBBBB");
    assert.equal((await applier.apply([post(A, "p3", "in:AAAAAAAA")])).unmatched, 1);
    await applier.apply([post(A, "p4", "in:BBBBBBBB")]);
    assert.deepEqual(await receivers(), [A, C]);
    assert.deepEqual((await top(redis, B, "received"))?.map((c) => [c.did, c.reply]), [
      [A, 1],
      [C, 0],
    ]);
    assert.equal((await profiles(redis, [A]))[0].status, "active");
    assert.deepEqual((await searchHandles(redis, "al", 10)).map((h) => h.did), [A]);
    // A code made for "in" does not hide.
    await code("in", A, "CCCCCCCC");
    await applier.apply([post(A, "p5", "out:CCCCCCCC")]);
    assert.deepEqual(await receivers(), [A, C]);
  });
});

Deno.test("blocks and follows are kept apart, and circles can leave blocked people out", async () => {
  await withStore(async (redis, applier) => {
    const block = create(A, "app.bsky.graph.block", "b1", { subject: C });
    const follow = create(A, "app.bsky.graph.follow", "f1", { subject: B });
    await applier.apply([like(A, "l1", C), block, follow]);
    const [aId, bId, cId] = await Promise.all([A, B, C].map((d) => idOf(redis, d)));
    // Follows and blocks share one set: blocks as negative ids.
    assert.deepEqual((await redis.smembers(`g:{${aId}}`)).sort(), [`-${cId}`, `${bId}`].sort());
    const opts = { direction: "sent" as const, windowHours: 24, limit: 10, now: T0 };
    assert.deepEqual((await topInteractions(redis, A, opts))?.map((c) => c.did), [C]);
    assert.deepEqual(await topInteractions(redis, A, { ...opts, excludeBlocked: true }), []);
    assert.equal((await totals(redis, C, 24, T0))?.received.block, 1);
    assert.equal((await totals(redis, A, 24, T0))?.sent.block, 1);
    assert.equal((await totals(redis, A, 24, T0))?.sent.like, 1);
    await applier.apply([
      del(A, "app.bsky.graph.block", "b1"),
      del(A, "app.bsky.graph.follow", "f1"),
    ]);
    assert.equal((await totals(redis, C, 24, T0))?.received.block, 0);
    assert.equal((await topInteractions(redis, A, { ...opts, excludeBlocked: true }))?.length, 1);
    assert.deepEqual(await redis.smembers(`g:{${aId}}`), []);
  });
});

Deno.test("profiles and handles stay current, with a prefix index for typeahead", async () => {
  await withStore(async (redis, applier) => {
    await applier.apply([
      { v: 1, kind: "identity", seq: 1, time: T0, did: A, handle: "alice.test" },
      {
        v: 1,
        kind: "commit",
        seq: 2,
        time: T0,
        did: A,
        action: "create",
        collection: "app.bsky.actor.profile",
        rkey: "self",
        displayName: "Alice",
        avatar: "bafkreia",
      },
      { v: 1, kind: "identity", seq: 3, time: T0, did: A, handle: "alicia.test" },
      { v: 1, kind: "identity", seq: 4, time: T0, did: B, handle: "alberto.test" },
    ]);
    assert.deepEqual(await profiles(redis, [A, C]), [
      { did: A, handle: "alicia.test", displayName: "Alice", avatar: "bafkreia" },
      { did: C },
    ]);
    assert.deepEqual(await searchHandles(redis, "al"), [
      { handle: "alberto.test", did: B },
      { handle: "alicia.test", did: A },
    ]);
    assert.deepEqual(await searchHandles(redis, "alice"), []);
  });
});

Deno.test("compactWeek() rolls closed days up, smaller, and changes no whole-day answer", async () => {
  await withStore(async (redis, applier) => {
    const nowHour = Math.floor(T0 / HOUR_MS);
    const dayStart = (back: number) => (Math.floor(nowHour / 24) - back) * 24;
    // Six days of generated traffic, and a like and its delete in a day that will roll up.
    const events = [...generateEvents({
      accounts: 40,
      events: 4000,
      seed: 7,
      start: dayStart(5) * HOUR_MS,
      spanMs: T0 - dayStart(5) * HOUR_MS,
    })];
    const old = dayStart(3) * HOUR_MS + 5 * HOUR_MS;
    events.push(like(A, "3kaaaaaaaaaa2", B, old), like(A, "3kaaaaaaaaaa3", B, old));
    events.push(del(A, "app.bsky.feed.like", "3kaaaaaaaaaa2", old));
    for (let k = 0; k < events.length; k += 500) await applier.apply(events.slice(k, k + 500));
    // Windows of up to 25 hours (the roll-up leaves days alone until they have been over
    // for 25 hours), and windows that start at a day's start. Other windows round their
    // oldest day: store/tests/any_hour_test.ts checks them at every hour of a week.
    const windows = [1, 5, 24, 25, ...[1, 2, 3, 4, 5].map((b) => nowHour - dayStart(b) + 1)];
    const dids = [A, B, didOf(0), didOf(1), didOf(7), didOf(39)];
    const answers = async () => {
      const out: unknown[] = [];
      for (const did of dids) {
        for (const w of windows) {
          for (const direction of ["sent", "received", "both", "mutual"] as const) {
            out.push(await top(redis, did, direction, w));
          }
          out.push(await totals(redis, did, w, T0));
        }
      }
      return out;
    };
    const before = await answers();
    const weeks = [...new Set([dayStart(5), nowHour].map((h) => Math.floor(h / 168)))];
    const roll = async () => {
      let bytes = 0, after = 0;
      for (const week of weeks) {
        const r = await compactWeek(redis, week, T0);
        bytes += r.before;
        after += r.after;
      }
      return [bytes, after];
    };
    const [bytes, after] = await roll();
    assert.ok(after < bytes * 0.7, `rolled up: ${after} < 0.7 * ${bytes}`);
    assert.deepEqual(await answers(), before);
    // A window that reaches into a rolled-up day counts it whole when it covers half of it.
    const fromDay = (b: number) => nowHour - dayStart(b) + 1;
    for (const did of dids) {
      assert.deepEqual(
        await top(redis, did, "both", fromDay(3) - 6),
        await top(redis, did, "both", fromDay(3)),
      );
      assert.deepEqual(
        await top(redis, did, "both", fromDay(3) - 18),
        await top(redis, did, "both", fromDay(2)),
      );
    }
    assert.deepEqual(await roll(), [after, after], "a second run changes nothing");
    const thisWeek = Math.floor(nowHour / 168);
    const heads = await Promise.all(
      dids.map(async (d) => await redis.getBuffer(`l:{${await idOf(redis, d)}}:${thisWeek}`)),
    );
    assert.ok(
      heads.some((h) => h && firstHourCellDay(h) >= 0) || nowHour % 168 < 24,
      "closed hours of the last day are kept apart",
    );
    const aId = await idOf(redis, A);
    const week = Math.floor(old / HOUR_MS / 168);
    assert.ok(await redis.ttl(`l:{${aId}}:${week}`) > 0, "the roll-up keeps the TTL");
    // An interaction undone after its day rolled up is taken back, before and after the
    // next roll-up (its record is older than the record memory here, so replay the pair).
    const aLog = await redis.getBuffer(`l:{${aId}}:${week}`);
    assert.ok(aLog && rolledLength(aLog) > 0, "A's log has a rolled-up part");
    const w3 = nowHour - dayStart(3) + 1;
    const likesOf = async () => (await top(redis, A, "sent", w3))?.find((c) => c.did === B)?.like;
    const likes = await likesOf();
    assert.ok(likes !== undefined && likes >= 1);
    await applier.apply([
      like(A, "3kaaaaaaaaaa4", B, T0),
      del(A, "app.bsky.feed.like", "3kaaaaaaaaaa4", T0),
    ]);
    assert.equal(await likesOf(), likes);
    await roll();
    assert.equal(await likesOf(), likes);
    // Two days on, the hours kept apart become days; answers from a day's start, asked at
    // the roll-up's time, stay the same.
    const later = T0 + 48 * HOUR_MS;
    const dayAnswers = () =>
      Promise.all(dids.map((did) => top(redis, did, "both", fromDay(2) + 48, later)));
    const kept = await dayAnswers();
    assert.ok(kept.some((a) => a && a.length > 0));
    for (const week of weeks) await compactWeek(redis, week, later);
    assert.deepEqual(await dayAnswers(), kept);
    for (const d of dids) {
      const log = await redis.getBuffer(`l:{${await idOf(redis, d)}}:${thisWeek}`);
      assert.ok(!log || firstHourCellDay(log) === -1, "the hours became days");
    }
  });
});

Deno.test("rkeyField() packs a TID into 8 bytes and keeps other keys apart", () => {
  const a = rkeyField("3jzfcijpj2z2a"), b = rkeyField("3jzfcijpj2z2b");
  assert.equal(a.length, 8);
  assert.notDeepEqual(a, b);
  assert.ok(a[0] < 0x80);
  assert.ok(Buffer.compare(a, b) < 0, "the order of TIDs is kept");
  assert.deepEqual([...rkeyField("self")], [0xff, ...new TextEncoder().encode("self")]);
});

Deno.test("recordArg() carries the field's hash, the hour, the field and the pairs", () => {
  const pairs = Buffer.of(0x10, 0, 0, 9);
  const like = "app.bsky.feed.like", post = "app.bsky.feed.post";
  const arg = recordArg(0x01020304, like, "3jzfcijpj2z2a", 490_000, pairs);
  // The like collection's code (1) is in the top 4 bits of the author's id.
  const field = [0x11, 2, 3, 4, ...rkeyField("3jzfcijpj2z2a")];
  assert.equal(arg.readUInt32BE(4), 490_000);
  assert.equal(arg[8], 12);
  assert.deepEqual([...arg.subarray(9, 21)], field);
  assert.deepEqual([...arg.subarray(21)], [...pairs]);
  let h = 0x811c9dc5;
  for (const b of field) h = Math.imul(h ^ b, 0x01000193);
  assert.equal(arg.readUInt32BE(0), h >>> 0);
  assert.equal(recordArg(0x01020304, like, "3jzfcijpj2z2a", 1).readUInt32BE(0), h >>> 0);
  assert.notDeepEqual(
    recordArg(0x01020304, post, "3jzfcijpj2z2a", 1).subarray(9),
    recordArg(0x01020304, like, "3jzfcijpj2z2a", 1).subarray(9),
    "the same key in two collections is two records",
  );
  const other = recordArg(7, post, "self", 1);
  assert.equal(other[8], 9);
  assert.deepEqual([...other.subarray(9)], [
    0x30,
    0,
    0,
    7,
    0xff,
    ...new TextEncoder().encode("self"),
  ]);
});

Deno.test("the same record key in two collections makes two records", async () => {
  await withStore(async (redis, applier) => {
    const repost = create(A, "app.bsky.feed.repost", "3kaaaaaaaaaa7", { subject: B });
    assert.equal((await applier.apply([like(A, "3kaaaaaaaaaa7", B), repost])).applied, 2);
    assert.equal((await applier.apply([del(A, "app.bsky.feed.like", "3kaaaaaaaaaa7")])).applied, 1);
    assert.deepEqual(
      (await top(redis, A, "sent"))?.map((c) => [c.like, c.repost]),
      [[0, 1]],
    );
  });
});

Deno.test("didKey() keeps a did:plc in 16 bytes and gives every DID back", () => {
  const plc = "did:plc:ewvi7nxzyoun6zhxrhs64oiz";
  const key = didKey(plc);
  assert.ok(key instanceof Uint8Array && key.length === 16 && key[0] === 0);
  assert.equal(didOfKey(key), plc);
  for (const did of ["did:plc:aaaaaaaaaaaaaaaaaaaaaaaa", "did:plc:777777777777777777777777"]) {
    assert.equal(didOfKey(didKey(did) as Uint8Array), did);
  }
  assert.notDeepEqual(
    didKey("did:plc:aaaaaaaaaaaaaaaaaaaaaaab"),
    didKey("did:plc:aaaaaaaaaaaaaaaaaaaaaaaa"),
  );
  // Anything else is kept as its text.
  for (const did of ["did:web:example.com", "did:plc:UPPERCASEisnotbase32xxxx", "did:plc:short"]) {
    assert.equal(didKey(did), did);
    assert.equal(didOfKey(new TextEncoder().encode(did)), did);
  }
});

Deno.test("every key the applier writes expires, also for events older than the record memory", async () => {
  await withStore(async (redis, applier) => {
    const old = T0 - 72 * HOUR_MS;
    await applier.apply([like(A, "3kbbbbbbbbbb2", B), like(A, "3kbbbbbbbbbb3", C, old)]);
    await applier.apply([
      like(C, "3kbbbbbbbbbb4", B, old),
      del(A, "app.bsky.feed.like", "3kbbbbbbbbbb3", old),
    ]);
    const keys = await redis.keys("*");
    assert.ok(keys.some((k) => k.startsWith("r:")), "records are remembered");
    for (const key of keys) {
      if (/^(ids|p|hx|rb|hidden):/.test(key)) continue;
      assert.ok(await redis.ttl(key) > 0, `${key} expires`);
    }
  });
});
