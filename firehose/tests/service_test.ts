import assert from "node:assert/strict";
import { decodeEvent, type FirehoseEvent } from "@bsky/shared/events";
import type { Redis } from "@bsky/shared/redis";
import { firehoseKeys } from "@bsky/shared/keys";
import { startRedisServer } from "@bsky/shared/testing/redis_server";
import { registerWatch } from "@bsky/shared/watch";
import { readCaptureFile } from "../capture.ts";
import { DEFAULT_LIMITS } from "../normalize.ts";
import { normalizeFrame } from "../sources/relay.ts";
import {
  corpusFrames,
  countingStats,
  normalizedEvents,
  readStreams,
  startTestFirehose,
  waitFor,
} from "../testing/helpers.ts";
import { replayedFrames, startReplayServer } from "../tools/replay_server.ts";

const frames = await corpusFrames();
const BASE = 2 ** 32;

for (const worker of [true, false]) {
  Deno.test(`the service publishes exactly the corpus' events with the cursor after the last frame (decoding ${worker ? "in a worker" : "inline"})`, async () => {
    await using redisServer = await startRedisServer();
    await using replay = startReplayServer({ frames, loops: 1 });
    const { service, log } = await startTestFirehose(redisServer.url, replay.url, {
      FIREHOSE_DECODE_WORKER: String(worker),
    });
    try {
      await waitFor(
        "the cursor to reach the last frame",
        () => service.subscription.cursor === BASE + frames.length,
      );
      assert.ok(
        log.lines.some((l) => l.msg === "Starting firehose subscription" && l.worker === worker),
      );
      const events = await readStreams(service.redis, firehoseKeys.streams(1));
      const expected = normalizedEvents(frames);
      const { stats } = countingStats();
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

Deno.test("the firehose pauses rather than let MAXLEN trim events a consumer has not read", async () => {
  await using redisServer = await startRedisServer();
  const loops = 20; // 3,000 frames, about 3,000 events: three times the cap
  await using replay = startReplayServer({ frames, loops, chunk: 16 });
  const stream = firehoseKeys.stream(0);
  const { service } = await startTestFirehose(redisServer.url, replay.url, {
    FIREHOSE_STREAM_MAXLEN: "1000",
    FIREHOSE_BATCH_SIZE: "20",
    FIREHOSE_BATCH_MS: "5",
  });
  const redis = service.redis.duplicate();
  try {
    await redis.xgroup("CREATE", stream, "slow", "0", "MKSTREAM");
    await waitFor(
      "a pause for the slow consumer",
      () => service.metrics.reconnects.get({ reason: "consumer_lag" }) >= 1,
    );
    // The consumer now reads everything, slowly; the firehose resumes and finishes.
    const got: FirehoseEvent[] = [];
    const last = BASE + loops * frames.length;
    const deadline = Date.now() + 60_000;
    while (true) {
      if (Date.now() > deadline) throw new Error("Timed out reading the stream");
      const done = service.subscription.cursor === last;
      const res = await redis.xreadgroup(
        "GROUP",
        "slow",
        "c",
        "COUNT",
        100,
        "STREAMS",
        stream,
        ">",
      ) as [string, [string, string[]][]][] | null;
      const entries = res?.[0]?.[1] ?? [];
      for (const [id, fields] of entries) {
        got.push(JSON.parse(fields[fields.indexOf("e") + 1]));
        await redis.xack(stream, "slow", id);
      }
      // Everything is written and everything written is read.
      if (done && entries.length === 0) break;
      if (entries.length === 0) await new Promise((r) => setTimeout(r, 20));
    }
    const expected = normalizedEvents(replayedFrames(frames, loops * frames.length));
    assert.equal(got.length, expected.length, "no event was trimmed unread");
    assert.deepEqual(got, expected);
  } finally {
    redis.disconnect();
    await service.stop();
  }
});

const pdsFrames = await readCaptureFile(new URL("../bench/pds_capture.bin.gz", import.meta.url));

/** The newest `count` events of a stream, oldest first. */
async function newest(redis: Redis, key: string, count: number): Promise<FirehoseEvent[]> {
  const entries = await redis.xrevrange(key, "+", "-", "COUNT", count);
  return entries.reverse().map(([, f]) => decodeEvent(f[1], f[3]));
}

for (const worker of [true, false]) {
  Deno.test(`the service passes what a reply needs for the accounts of the watch list, which it reads from Redis while it runs (decoding ${worker ? "in a worker" : "inline"})`, async () => {
    await using redisServer = await startRedisServer();
    // A real PDS's frames, over and over: posts with mentions keep coming.
    await using replay = startReplayServer({ frames: pdsFrames, loops: 0, chunk: 64 });
    const { service, log } = await startTestFirehose(redisServer.url, replay.url, {
      FIREHOSE_DECODE_WORKER: String(worker),
      FIREHOSE_STREAM_MAXLEN: "1000000",
    });
    try {
      const stream = firehoseKeys.stream(0);
      const mentioning = (e: FirehoseEvent, did: string) =>
        e.kind === "commit" && e.action === "create" && e.mentions?.includes(did) === true;
      await waitFor("posts with mentions", async () => (await service.redis.xlen(stream)) > 4000);
      const before = await newest(service.redis, stream, 4000);
      const did = before.flatMap((e) =>
        e.kind === "commit" && e.action === "create" ? e.mentions ?? [] : []
      )[0];
      assert.ok(did, "the capture mentions someone");
      assert.ok(
        before.every((e) =>
          !("watched" in e)
        ),
        "nobody is watched yet",
      );

      await registerWatch(service.redis, did, Date.now());
      let after: FirehoseEvent[] = [];
      await waitFor("posts that carry what a reply needs", async () => {
        after = await newest(service.redis, stream, 4000);
        return after.some((e) => "watched" in e);
      });
      assert.ok(
        log.lines.some((l) => l.msg === "Watching the mentions of accounts" && l.accounts === 1),
      );
      // Once the list is read, posts that mention the watched account carry it, and only they.
      const first = after.findIndex((e) => "watched" in e);
      for (const e of after.slice(first)) assert.equal("watched" in e, mentioning(e, did));
    } finally {
      await service.stop();
    }
  });
}
