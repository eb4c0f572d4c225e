import assert from "node:assert/strict";
import type { FirehoseEvent } from "@bsky/shared/events";
import { firehoseKeys } from "@bsky/shared/keys";
import { startRedisServer } from "@bsky/shared/testing/redis_server";
import { DEFAULT_LIMITS } from "../normalize.ts";
import { normalizeFrame } from "../relay.ts";
import { startFirehose } from "../service.ts";
import {
  corpusFrames,
  countingStats,
  memoryLogger,
  readStreams,
  testConfig,
  waitFor,
} from "../testing/helpers.ts";
import { startReplayServer } from "../tools/replay_server.ts";

const frames = await corpusFrames();
const BASE = 2 ** 32;

for (const worker of [true, false]) {
  Deno.test(`the service publishes exactly the corpus' events with the cursor after the last frame (decoding ${worker ? "in a worker" : "inline"})`, async () => {
    await using redisServer = await startRedisServer();
    await using replay = startReplayServer({ frames, loops: 1 });
    const log = memoryLogger();
    const service = await startFirehose(
      testConfig({
        REDIS_URL: redisServer.url,
        FIREHOSE_URL: replay.url,
        FIREHOSE_METRICS_PORT: "0",
        FIREHOSE_DECODE_WORKER: String(worker),
      }),
      log,
    );
    try {
      await waitFor(
        "the cursor to reach the last frame",
        () => service.subscription.cursor === BASE + frames.length,
      );
      assert.ok(
        log.lines.some((l) => l.msg === "Starting firehose subscription" && l.worker === worker),
      );
      const events = await readStreams(service.redis, firehoseKeys.streams(1));
      const expected: FirehoseEvent[] = [];
      const { stats } = countingStats();
      for (const f of frames) normalizeFrame(f, expected, stats, DEFAULT_LIMITS);
      assert.equal(events.length, expected.length);
      assert.ok(events.length > 140);
      // Same events, with the replayed seq in place of the original one.
      const original = frames.map((f) =>
        (normalizeFrame(f, [], stats, DEFAULT_LIMITS) as { seq: number }).seq
      );
      const seqMap = new Map(original.map((s, i) => [s, BASE + i + 1]));
      assert.deepEqual(events, expected.map((e) => ({ ...e, seq: seqMap.get(e.seq)! })));
      const stored = await service.redis.get(`${firehoseKeys.cursor}:relay`);
      assert.equal(stored, String(BASE + frames.length));
      const health = await fetch(`http://127.0.0.1:${service.port}/healthz`);
      assert.equal(health.status, 200);
      assert.deepEqual(await health.json(), {
        ok: true,
        redis: "ready",
        connected: true,
        cursor: BASE + frames.length,
      });
      const res = await fetch(`http://127.0.0.1:${service.port}/metrics`);
      assert.match(res.headers.get("content-type")!, /text\/plain; version=0.0.4/);
      const metrics = await res.text();
      assert.match(
        metrics,
        /firehose_events_total\{kind="commit",collection="app.bsky.feed.like"\} \d+/,
      );
      assert.match(metrics, /firehose_stream_length\{partition="0"\} \d+/);
    } finally {
      await service.stop();
    }
  });
}
