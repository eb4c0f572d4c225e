/**
 * Invariant 1: the cursor never runs ahead of durable data, and a restart resumes exactly
 * there. The service is killed with SIGKILL mid-stream, and Redis is killed under it.
 */
import assert from "node:assert/strict";
import type { FirehoseEvent } from "@bsky/shared/events";
import { firehoseKeys } from "@bsky/shared/keys";
import { connectRedis } from "@bsky/shared/redis";
import { startRedisServer } from "@bsky/shared/testing/redis_server";
import { serviceArgs, SERVICES } from "../../scripts/services.ts";
import {
  corpusFrames,
  normalizedEvents,
  readStreams,
  startTestFirehose,
  waitFor,
} from "../testing/helpers.ts";
import { replayedFrames, startReplayServer } from "../tools/replay_server.ts";

const frames = await corpusFrames();
const BASE = 2 ** 32;
const root = new URL("../../", import.meta.url).pathname;

function expectedEvents(count: number): FirehoseEvent[] {
  return normalizedEvents(replayedFrames(frames, count));
}

function spawnFirehose(env: Record<string, string>): Deno.ChildProcess {
  const spec = SERVICES.find((s) => s.name === "firehose")!;
  return new Deno.Command(Deno.execPath(), {
    args: serviceArgs(spec, env),
    cwd: root,
    env,
    clearEnv: true,
    stdout: "null",
    stderr: "null",
  }).spawn();
}

Deno.test("a firehose killed with SIGKILL mid-stream resumes at its cursor: nothing lost, nothing doubled", async () => {
  await using redisServer = await startRedisServer();
  const loops = 80; // 12,000 frames
  const total = loops * frames.length;
  await using replay = startReplayServer({ frames, loops, chunk: 16 });
  const redis = await connectRedis(redisServer.url, { name: "test" });
  const cursorKey = `${firehoseKeys.cursor}:relay`;
  const env = {
    REDIS_URL: redisServer.url,
    FIREHOSE_URL: replay.url,
    FIREHOSE_METRICS_PORT: "0",
    FIREHOSE_BATCH_SIZE: "100",
    FIREHOSE_BATCH_MS: "5",
  };
  try {
    let kills = 0;
    for (const stopAt of [total * 0.2, total * 0.55]) {
      const child = spawnFirehose(env);
      await waitFor("the cursor to move past the kill point", async () => {
        const c = Number(await redis.get(cursorKey) ?? 0);
        return c - BASE >= stopAt;
      }, 60_000);
      child.kill("SIGKILL");
      await child.status;
      const at = Number(await redis.get(cursorKey)) - BASE;
      if (at < total) kills++; // killed mid-stream, not after the end
      // Nothing in the streams lies beyond the cursor.
      const written = await readStreams(redis, firehoseKeys.streams(1));
      assert.ok(written.every((e) => e.seq <= BASE + at));
      assert.equal(written.at(-1)?.seq, expectedEvents(at).at(-1)?.seq);
    }
    assert.equal(kills, 2);
    const last = spawnFirehose(env);
    await waitFor(
      "the cursor to reach the last frame",
      async () => Number(await redis.get(cursorKey)) === BASE + total,
      60_000,
    );
    last.kill("SIGTERM");
    await last.status;
    const events = await readStreams(redis, firehoseKeys.streams(1));
    const expected = expectedEvents(total);
    assert.equal(events.length, expected.length, "no event missing and none doubled");
    assert.deepEqual(events, expected);
  } finally {
    redis.disconnect();
  }
});

Deno.test("the firehose recovers by itself when Redis is killed and started again, losing nothing", async () => {
  await using redisServer = await startRedisServer({ appendOnly: true, appendFsync: "always" });
  const loops = 60;
  const total = loops * frames.length;
  await using replay = startReplayServer({ frames, loops, chunk: 8 });
  const { service, log } = await startTestFirehose(redisServer.url, replay.url, {
    FIREHOSE_BATCH_SIZE: "50",
    FIREHOSE_BATCH_MS: "5",
    FIREHOSE_MAX_PENDING: "500",
  });
  try {
    await waitFor("some progress", () => (service.subscription.cursor ?? 0) - BASE > total * 0.2);
    await redisServer.kill("SIGKILL");
    await new Promise((r) => setTimeout(r, 700));
    await redisServer.start();
    await waitFor(
      "the cursor to reach the last frame",
      async () => Number(await service.redis.get(`${firehoseKeys.cursor}:relay`)) === BASE + total,
      60_000,
    );
    const events = await readStreams(service.redis, firehoseKeys.streams(1));
    assert.deepEqual(events, expectedEvents(total));
    assert.ok(log.lines.some((l) => l.msg === "Redis connection error"), "Redis did go away");
  } finally {
    await service.stop();
  }
});
