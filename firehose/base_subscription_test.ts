import assert from "node:assert/strict";
import { encodeEvent, type FirehoseEvent } from "@bsky/shared/events";
import { firehoseKeys } from "@bsky/shared/keys";
import { connectRedis } from "@bsky/shared/redis";
import { startRedisServer } from "@bsky/shared/testing/redis_server";
import { type BaseOptions, BaseSubscription } from "./base_subscription.ts";
import { encodeChunk } from "./chunk.ts";
import { firehoseMetrics } from "./metrics.ts";
import { DEFAULT_LIMITS } from "./normalize.ts";
import { Publisher } from "./publisher.ts";
import { memoryLogger, readStreams } from "./testing/helpers.ts";

const like: FirehoseEvent = {
  v: 1,
  kind: "commit",
  seq: 10,
  time: 1_700_000_000_000,
  did: "did:plc:a",
  action: "create",
  collection: "app.bsky.feed.like",
  rkey: "3k10",
  subject: "did:plc:subject",
};

/** Connections that each run one step of a script; past its end, one that waits for stop(). */
class Scripted extends BaseSubscription<BaseOptions> {
  announced: (number | undefined)[] = [];
  cursors: (number | undefined)[] = [];
  steps: (() => number)[] = [];
  get connected() {
    return false;
  }
  protected announce(cursor: number | undefined) {
    this.announced.push(cursor);
  }
  protected connectOnce(cursor: number | undefined): Promise<number> {
    this.cursors.push(cursor);
    const step = this.steps.shift();
    if (step) return Promise.resolve(step());
    return new Promise((r) => this.abort.signal.addEventListener("abort", () => r(0)));
  }
  protected disconnect() {}
  protected onConflict() {}
}

Deno.test("a subscription connects from the cursor, writes what a connection brought, and backs off while connections bring nothing", async () => {
  await using server = await startRedisServer();
  const redis = await connectRedis(server.url, { name: "test" });
  try {
    const publisher = new Publisher(redis, { partitions: 1, maxLen: 1000, source: "relay" });
    const options = {
      url: "",
      batchSize: 100,
      batchMs: 50,
      maxPending: 100,
      limits: DEFAULT_LIMITS,
    };
    const log = memoryLogger();
    const sub = new Scripted(options, publisher, firehoseMetrics(), log);
    sub.steps = [
      () => {
        sub.batcher.addChunks([encodeChunk([encodeEvent(like)])], 1);
        sub.batcher.advance(10);
        return 1;
      },
      () => 0,
      () => 0,
    ];
    const done = sub.start();
    while (sub.cursors.length < 4) await new Promise((r) => setTimeout(r, 10));
    await sub.stop();
    await done;
    assert.deepEqual(sub.announced, [undefined]);
    assert.deepEqual(sub.cursors, [undefined, 10, 10, 10]);
    assert.equal(sub.cursor, 10);
    assert.deepEqual(await readStreams(redis, firehoseKeys.streams(1)), [like]);
    // Half to all of 250 ms doubled for each connection in a row that brought nothing.
    const delays = log.lines.filter((l) => l.msg === "Reconnecting to the firehose")
      .map((l) => l.delayMs as number);
    assert.equal(delays.length, 3);
    delays.forEach((d, i) => assert.ok(d >= 125 * 2 ** i && d <= 250 * 2 ** i, `${i}: ${d}`));
    // The next start resumes from the cursor written.
    const next = new Scripted(options, publisher, firehoseMetrics(), log);
    const running = next.start();
    while (next.cursors.length < 1) await new Promise((r) => setTimeout(r, 10));
    await next.stop();
    await running;
    assert.deepEqual([next.announced, next.cursors], [[10], [10]]);
  } finally {
    redis.disconnect();
  }
});
