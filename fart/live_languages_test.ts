import assert from "node:assert/strict";
import { encodeEvent, EVENT_VERSION, type FirehoseEvent } from "@bsky/shared/events";
import { firehoseKeys } from "@bsky/shared/keys";
import { connectRedis } from "@bsky/shared/redis";
import { created, nextSeq } from "@bsky/shared/testing/events";
import { startRedisServer } from "@bsky/shared/testing/redis_server";
import { LIVE_LANGUAGES, LIVE_WINDOW_MS, liveFigures } from "./live.ts";
import { liveAnswer } from "./schemas.ts";
import { withTestApi } from "./testing/api.ts";

const A = "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa";
const B = "did:plc:bbbbbbbbbbbbbbbbbbbbbbbb";

/** Posts made over the last minute: `count` in each of `langs` lists, some in none. */
function minuteOfPosts(t: number): FirehoseEvent[] {
  const spec: [string[] | undefined, number][] = [
    [["en"], 6],
    [["pt", "en"], 3],
    [["ja"], 2],
    [undefined, 1],
  ];
  const out: FirehoseEvent[] = [];
  let k = 0;
  for (const [langs, count] of spec) {
    for (let i = 0; i < count; i++, k++) {
      out.push(created(k % 2 ? A : B, "app.bsky.feed.post", `p${k}`, {
        chars: 3,
        ...(langs ? { langs } : {}),
      }, t - 50_000 + k * 1000));
    }
  }
  // A like and a deleted post count in no language.
  out.push(created(A, "app.bsky.feed.like", "l1", { subject: B }, t - 1000));
  out.push({
    v: 1,
    kind: "commit",
    seq: nextSeq(),
    time: t - 500,
    did: A,
    action: "delete",
    collection: "app.bsky.feed.post",
    rkey: "p0",
  });
  return out;
}

async function publish(redis: Parameters<typeof liveFigures>[0], events: FirehoseEvent[]) {
  for (const [k, e] of events.entries()) {
    await redis.xadd(
      firehoseKeys.stream(k % 2),
      `${e.time}-${k}`,
      "v",
      String(EVENT_VERSION),
      "e",
      encodeEvent(e),
    );
  }
}

Deno.test("liveFigures() gives the network's share of posts by language over the last minute", async () => {
  await using server = await startRedisServer();
  const redis = await connectRedis(server.url, { name: "test" });
  try {
    const t = 1_800_000_000_000;
    await publish(redis, minuteOfPosts(t));
    const live = await liveFigures(redis, 2, t);
    const perSecond = (n: number) => n / (LIVE_WINDOW_MS / 1000);
    assert.ok(Math.abs(live.postsPerSecond - perSecond(12)) < 1e-9);
    const rounded = live.postLanguages.map((l) => ({
      ...l,
      postsPerSecond: Math.round(l.postsPerSecond * 1e9) / 1e9,
      share: Math.round(l.share * 1e9) / 1e9,
    }));
    const round = (n: number) => Math.round(n * 1e9) / 1e9;
    assert.deepEqual(rounded, [
      { lang: "en", postsPerSecond: round(perSecond(9)), share: round(9 / 12) },
      { lang: "pt", postsPerSecond: round(perSecond(3)), share: round(3 / 12) },
      { lang: "ja", postsPerSecond: round(perSecond(2)), share: round(2 / 12) },
    ]);
    // A minute later, no posts: no languages either.
    const quiet = await liveFigures(redis, 2, t + 5 * 60_000);
    assert.equal(quiet.postsPerSecond, 0);
    assert.deepEqual(quiet.postLanguages, []);
  } finally {
    redis.disconnect();
  }
});

Deno.test("liveFigures() names at most LIVE_LANGUAGES languages, most posts first, then by name", async () => {
  await using server = await startRedisServer();
  const redis = await connectRedis(server.url, { name: "test" });
  try {
    const t = 1_800_000_000_000;
    const langs = "abcdefghijklmnopqrst".split("").map((c) => `${c}${c}`);
    const events = langs.map((lang, k) =>
      created(A, "app.bsky.feed.post", `q${k}`, { chars: 1, langs: [lang] }, t - 30_000 + k)
    );
    events.push(created(B, "app.bsky.feed.post", "z", { chars: 1, langs: ["tt"] }, t - 100));
    await publish(redis, events);
    const live = await liveFigures(redis, 2, t);
    assert.equal(live.postLanguages.length, LIVE_LANGUAGES);
    assert.deepEqual(live.postLanguages.map((l) => l.lang), [
      "tt",
      ...langs.filter((l) => l !== "tt").slice(0, LIVE_LANGUAGES - 1),
    ]);
  } finally {
    redis.disconnect();
  }
});

Deno.test("GET /v1/stats/live carries the posts by language, in the shape /openapi.json describes", async () => {
  await withTestApi({}, async ({ get, redis }) => {
    await publish(redis, minuteOfPosts(Date.now()));
    const body = await (await get("/v1/stats/live")).json();
    assert.ok(body.postsPerSecond > 0);
    assert.deepEqual(body.postLanguages.map((l: { lang: string }) => l.lang), ["en", "pt", "ja"]);
    assert.equal(body.postLanguages[0].share, 0.75);
    assert.deepEqual(liveAnswer.strict().parse(body), body);
  });
});
