import assert from "node:assert/strict";
import type { FirehoseEvent } from "@bsky/shared/events";
import {
  type LanguageIndex,
  type LanguageSnapshot,
  statsKeys,
  type TopSnapshot,
} from "@bsky/shared/keys";
import { nextSeq } from "@bsky/shared/testing/events";
import { topAnswer } from "../schemas.ts";
import { withTestApi } from "../testing/api.ts";

const A = "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa";
const B = "did:plc:bbbbbbbbbbbbbbbbbbbbbbbb";
const C = "did:plc:cccccccccccccccccccccccc";
const T = Date.UTC(2026, 4, 1, 12);

const identity = (did: string, handle: string): FirehoseEvent => ({
  v: 1,
  kind: "identity",
  seq: nextSeq(),
  time: T,
  did,
  handle,
});

/** What the scheduler writes: Portuguese lists for both windows, and their index. */
async function writeLists(redis: Parameters<Parameters<typeof withTestApi>[1]>[0]["redis"]) {
  const snap = (window: "24h" | "72h", items: LanguageSnapshot["items"]): LanguageSnapshot => ({
    lang: "pt",
    window,
    computedAt: T,
    items,
  });
  const index: LanguageIndex = {
    computedAt: T,
    windows: {
      "24h": [{ lang: "pt", posts: 5, posters: 2 }],
      "72h": [{ lang: "pt", posts: 9, posters: 3 }, { lang: "en", posts: 1, posters: 1 }],
    },
  };
  await redis.set(
    statsKeys.languageTop("24h", "pt"),
    JSON.stringify(snap("24h", [{ did: A, count: 3 }, { did: B, count: 2 }])),
  );
  await redis.set(
    statsKeys.languageTop("72h", "pt"),
    JSON.stringify(snap("72h", [{ did: A, count: 5 }, { did: C, count: 3 }, { did: B, count: 1 }])),
  );
  // An older run's list of a language the latest run gave none.
  await redis.set(
    statsKeys.languageTop("24h", "en"),
    JSON.stringify({ ...snap("24h", [{ did: B, count: 1 }]), lang: "en", computedAt: T - 1 }),
  );
  await redis.set(statsKeys.languages, JSON.stringify(index));
}

Deno.test("GET /v1/stats/top?metric=posts&lang= serves a language's top posters over 24 h and 72 h", async () => {
  await withTestApi({}, async ({ get, redis, applier }) => {
    const before = await get("/v1/stats/top?metric=posts&lang=pt");
    assert.equal(before.status, 404, "not computed yet");
    assert.match((await before.json()).message, /not computed yet/);
    await applier.apply([identity(A, "alice.test"), identity(B, "bob.test")]);
    await writeLists(redis);
    const day = await (await get("/v1/stats/top?metric=posts&lang=pt")).json();
    assert.deepEqual(topAnswer.strict().parse(day), day);
    assert.deepEqual(day, {
      metric: "posts",
      window: "24h",
      lang: "pt",
      languages: [{ lang: "pt", posts: 5, posters: 2 }],
      computedAt: new Date(T).toISOString(),
      items: [
        { did: A, handle: "alice.test", displayName: null, avatar: null, count: 3 },
        { did: B, handle: "bob.test", displayName: null, avatar: null, count: 2 },
      ],
    });
    const three = await (await get("/v1/stats/top?metric=posts&lang=pt&window=72h")).json();
    assert.deepEqual(three.items.map((i: { count: number }) => i.count), [5, 3, 1]);
    assert.deepEqual(three.languages.map((l: { lang: string }) => l.lang), ["pt", "en"]);
    // A language without a list in the latest run: empty, whatever an older run left.
    for (const lang of ["en", "kab"]) {
      const none = await (await get(`/v1/stats/top?metric=posts&lang=${lang}`)).json();
      assert.deepEqual(none.items, [], lang);
      assert.equal(none.computedAt, new Date(T).toISOString());
    }
    // The other lists are served as before.
    const likes: TopSnapshot = {
      metric: "likes_received",
      window: "7d",
      computedAt: T,
      items: [{ did: A, count: 4 }],
    };
    await redis.set(statsKeys.top("7d", "likes_received"), JSON.stringify(likes));
    const old = await (await get("/v1/stats/top?metric=likes_received&window=7d")).json();
    assert.equal(old.items[0].count, 4);
    assert.equal(old.lang, undefined);
  });
});

Deno.test("GET /v1/stats/top leaves out accounts hidden since the list was computed", async () => {
  await withTestApi({}, async ({ get, redis, applier }) => {
    await applier.apply([
      identity(A, "alice.test"),
      { v: 1, kind: "account", seq: nextSeq(), time: T, did: A, active: false, status: "deleted" },
    ]);
    await writeLists(redis);
    const day = await (await get("/v1/stats/top?metric=posts&lang=pt")).json();
    assert.deepEqual(day.items.map((i: { did: string }) => i.did), [B]);
  });
});

Deno.test("GET /v1/stats/top answers a language without posts, or posts without a language, with a 400 naming it", async () => {
  await withTestApi({}, async ({ get }) => {
    for (
      const [path, parameter, why] of [
        ["/v1/stats/top?metric=posts", "lang", /is needed with metric=posts/],
        ["/v1/stats/top?metric=posts&lang=", "lang", /is needed/],
        ["/v1/stats/top?metric=posts&lang=PT", "lang", /language subtag/],
        ["/v1/stats/top?metric=posts&lang=pt-BR", "lang", /language subtag/],
        ["/v1/stats/top?metric=posts&lang=english", "lang", /language subtag/],
        ["/v1/stats/top?metric=posts&lang=pt&window=7d", "window", /24h or 72h/],
        ["/v1/stats/top?metric=likes_received&lang=pt", "lang", /only taken with metric=posts/],
        ["/v1/stats/top?metric=likes_received&window=72h", "window", /24h or 7d/],
        ["/v1/stats/top?metric=posts&lang=pt&window=1h", "window", /is not one of/],
        ["/v1/stats/top?metric=post&lang=pt", "metric", /is not one of/],
      ] as const
    ) {
      const res = await get(path);
      assert.equal(res.status, 400, path);
      const body = await res.json();
      assert.equal(body.parameter, parameter, path);
      assert.match(body.message, why, path);
    }
  });
});
