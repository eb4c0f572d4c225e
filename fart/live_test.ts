import assert from "node:assert/strict";
import { encodeEvent, EVENT_VERSION } from "@bsky/shared/events";
import { firehoseKeys } from "@bsky/shared/keys";
import type { Redis } from "@bsky/shared/redis";
import { created } from "@bsky/shared/testing/events";
import { withRedis } from "@bsky/shared/testing/redis_server";
import { LIVE_SAMPLE, LIVE_WINDOW_MS, liveFigures } from "./live.ts";

const A = "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa";
const B = "did:plc:bbbbbbbbbbbbbbbbbbbbbbbb";
const C = "did:plc:cccccccccccccccccccccccc";

/** Publishes a like (or a post) from `did` at `ms`, as the firehose writes it. */
async function publish(redis: Redis, partition: number, ms: number, did: string, k: number) {
  const e = created(did, k % 3 ? "app.bsky.feed.like" : "app.bsky.feed.post", `r${k}`, {
    subject: C,
  }, ms);
  await redis.xadd(
    firehoseKeys.stream(partition),
    `${ms}-${k}`,
    "v",
    String(EVENT_VERSION),
    "e",
    encodeEvent(e),
  );
}

Deno.test("liveFigures() measures the last minute up to now, so rates fall to zero when nothing arrives", async () => {
  await withRedis(async (redis) => {
    const t = 1_800_000_000_000;
    for (let k = 0; k < 12; k++) await publish(redis, 0, t - 12_000 + k * 1000, k % 2 ? A : B, k);
    const fresh = await liveFigures(redis, 1, t);
    const minute = LIVE_WINDOW_MS / 1000;
    assert.ok(Math.abs(fresh.eventsPerSecond - 12 / minute) < 1e-9);
    assert.ok(Math.abs(fresh.byCollection["app.bsky.feed.like"] - 8 / minute) < 1e-9);
    assert.ok(Math.abs(fresh.byCollection["app.bsky.feed.post"] - 4 / minute) < 1e-9);
    assert.equal(fresh.activeAccounts, 2);
    assert.equal(fresh.lagSeconds, 1);

    const quiet = await liveFigures(redis, 1, t + 5 * 60_000);
    assert.equal(quiet.eventsPerSecond, 0, "five minutes without events: nothing per second");
    assert.deepEqual(quiet.byCollection, {});
    assert.equal(quiet.activeAccounts, 0);
    assert.equal(quiet.lagSeconds, 301, "the newest event is still dated");
    assert.deepEqual(await liveFigures(redis, 2, t + 5 * 60_000), quiet, "an empty partition");
  });
});

Deno.test("liveFigures() measures a minute busier than its sample over what the sample spans, partitions added up", async () => {
  await withRedis(async (redis) => {
    const t = 1_800_000_000_000;
    // Partition 0: more events in the last 20 s than the sample takes, 1 per 5 ms.
    const pipe = redis.pipeline();
    for (let k = 0; k < LIVE_SAMPLE + 100; k++) {
      const ms = t - 20_000 + k * 5;
      const e = created(A, "app.bsky.feed.like", `x${k}`, { subject: C }, ms);
      pipe.xadd(firehoseKeys.stream(0), `${ms}-0`, "v", String(EVENT_VERSION), "e", encodeEvent(e));
    }
    await pipe.exec();
    // Partition 1: 30 events in the minute.
    for (let k = 0; k < 30; k++) await publish(redis, 1, t - 50_000 + k * 1000, B, 3 * k);
    const end = t - 20_000 + (LIVE_SAMPLE + 99) * 5;
    const busy = await liveFigures(redis, 2, end);
    const oldest = end - (LIVE_SAMPLE - 1) * 5;
    const expected = LIVE_SAMPLE / ((end - oldest) / 1000) + 30 / 60;
    assert.ok(Math.abs(busy.eventsPerSecond - expected) < 1e-6, `${busy.eventsPerSecond}`);
    assert.equal(busy.sampledEvents, LIVE_SAMPLE + 30);
  });
});
