/**
 * The firehose on a real local Redis Cluster (3 masters, 3 replicas): its partitions spread
 * over the masters, each written atomically with its own cursor. Killed with SIGKILL mid-run
 * and started again, or with a master killed under it (its replica takes over), every
 * partition holds each event exactly once, in order, and the network counters count each
 * event once.
 */
import assert from "node:assert/strict";
import type { FirehoseEvent } from "@bsky/shared/events";
import { firehoseKeys, networkKeys, partitionOf } from "@bsky/shared/keys";
import type { Redis } from "@bsky/shared/redis";
import { startRedisCluster } from "@bsky/shared/testing/redis_cluster";
import { serviceArgs, SERVICES } from "../../scripts/services.ts";
import { DEFAULT_LIMITS } from "../normalize.ts";
import { normalizeFrame } from "../sources/relay.ts";
import {
  corpusFrames,
  countingStats,
  readStreams,
  startTestFirehose,
  waitFor,
} from "../testing/helpers.ts";
import { replayedFrames, startReplayServer } from "../tools/replay_server.ts";

const frames = await corpusFrames();
const BASE = 2 ** 32;
const PARTITIONS = 4;
const root = new URL("../../", import.meta.url).pathname;

const streams = firehoseKeys.streams(PARTITIONS);
const cursorKeys = [
  ...streams.map((_, p) => `${firehoseKeys.partitionCursor(p)}:relay`),
  `${firehoseKeys.cursor}:relay`,
];

function expectedEvents(count: number): FirehoseEvent[] {
  const out: FirehoseEvent[] = [];
  const { stats } = countingStats();
  for (const f of replayedFrames(frames, count)) normalizeFrame(f, out, stats, DEFAULT_LIMITS);
  return out;
}

const inPartition = (events: FirehoseEvent[], p: number) =>
  events.filter((e) => partitionOf(e.did, PARTITIONS) === p);

/** Every cursor (the partitions', then the counters'), 0 when missing. */
async function cursors(redis: Redis): Promise<number[]> {
  return await Promise.all(cursorKeys.map(async (k) => Number(await redis.get(k) ?? 0) - BASE));
}

/** Each partition's stream against what it should hold of `expected`, in order. */
async function assertExactlyOnce(redis: Redis, expected: FirehoseEvent[]) {
  for (let p = 0; p < PARTITIONS; p++) {
    const events = await readStreams(redis, [streams[p]]);
    const want = inPartition(expected, p);
    assert.equal(events.length, want.length, `partition ${p}: no event missing, none twice`);
    assert.deepEqual(events, want, `partition ${p}: the same events in the same order`);
  }
}

/** The network counters' events per collection (or kind), summed over every minute. */
async function countedEvents(redis: Redis, events: FirehoseEvent[]) {
  const minutes = new Set(events.map((e) => Math.floor(e.time / 60_000)));
  const fields = new Set(events.map((e) => e.kind === "commit" ? e.collection : e.kind));
  const totals: Record<string, number> = {};
  for (const minute of minutes) {
    const hash = await redis.hgetall(networkKeys.eventsMinute(minute));
    for (const f of fields) totals[f] = (totals[f] ?? 0) + Number(hash[f] ?? 0);
  }
  return totals;
}

function tally(events: FirehoseEvent[]) {
  const totals: Record<string, number> = {};
  for (const e of events) {
    const f = e.kind === "commit" ? e.collection : e.kind;
    totals[f] = (totals[f] ?? 0) + 1;
  }
  return totals;
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

Deno.test("on a Redis Cluster the partitions spread over the masters; a firehose killed with SIGKILL mid-run and started again leaves each event in its partition exactly once", async () => {
  await using cluster = await startRedisCluster();
  const redis = await cluster.connect();
  const loops = 40; // 6,000 frames
  const total = loops * frames.length;
  await using replay = startReplayServer({ frames, loops, chunk: 16 });
  try {
    // Each partition's stream and cursor share a slot; the partitions are on several masters.
    const slot = async (key: string) =>
      Number((await cluster.cli(cluster.ports[0], "CLUSTER", "KEYSLOT", key)).trim());
    for (let p = 0; p < PARTITIONS; p++) {
      assert.equal(await slot(streams[p]), await slot(cursorKeys[p]));
    }
    assert.equal(await slot(cursorKeys[PARTITIONS]), await slot(networkKeys.eventsMinute(1)));
    const masters = new Set(await Promise.all(streams.map((s) => cluster.masterOf(s))));
    assert.ok(masters.size >= 2, `the partitions are on ${masters.size} masters`);

    // Started as `deno task start` starts it, with one setting naming the cluster.
    const env = {
      REDIS_CLUSTER_NODES: cluster.nodes,
      FIREHOSE_URL: replay.url,
      FIREHOSE_PARTITIONS: String(PARTITIONS),
      FIREHOSE_METRICS_PORT: "0",
      FIREHOSE_BATCH_SIZE: "100",
      FIREHOSE_BATCH_MS: "5",
    };
    const child = spawnFirehose(env);
    await waitFor("the cursors to move past a third", async () => {
      return Math.min(...await cursors(redis)) >= total / 3;
    }, 180_000);
    child.kill("SIGKILL");
    await child.status;
    const at = await cursors(redis);
    assert.ok(Math.max(...at) < total, `killed mid-run: ${at}`);
    // Nothing in a stream lies beyond its cursor, and what it holds is in order, once.
    const all = expectedEvents(total);
    for (let p = 0; p < PARTITIONS; p++) {
      const events = await readStreams(redis, [streams[p]]);
      assert.ok(events.every((e) => e.seq <= BASE + at[p]));
      assert.deepEqual(events, inPartition(all, p).filter((e) => e.seq <= BASE + at[p]));
    }

    const last = spawnFirehose(env);
    await waitFor("every cursor to reach the last frame", async () => {
      return (await cursors(redis)).every((c) => c === total);
    }, 180_000);
    last.kill("SIGTERM");
    await last.status;
    await assertExactlyOnce(redis, all);
    assert.deepEqual(await countedEvents(redis, all), tally(all), "each event counted once");
  } finally {
    redis.disconnect();
  }
});

Deno.test("a master killed with SIGKILL under the running firehose: its replica takes over, and every partition still holds each event exactly once", async () => {
  await using cluster = await startRedisCluster();
  const redis = await cluster.connect();
  const loops = 40;
  const total = loops * frames.length;
  await using replay = startReplayServer({ frames, loops, chunk: 8 });
  const { service, log } = await startTestFirehose("redis://127.0.0.1:1", replay.url, {
    REDIS_CLUSTER_NODES: cluster.nodes,
    FIREHOSE_PARTITIONS: String(PARTITIONS),
    FIREHOSE_BATCH_SIZE: "50",
    FIREHOSE_BATCH_MS: "5",
  });
  try {
    assert.ok(
      log.lines.some((l) => l.msg === "Writing to a Redis Cluster" && l.waitReplicas === 1),
      "each write waits for a replica on a cluster",
    );
    // The master of the most partitions goes while batches are being written.
    const owners = await Promise.all(streams.map((s) => cluster.masterOf(s)));
    const held = (port: number) => owners.filter((o) => o === port).length;
    const victim = [...owners].sort((a, b) => held(b) - held(a))[0];
    await waitFor(
      "a quarter written",
      () => (service.subscription.cursor ?? BASE) - BASE >= total / 4,
      120_000,
    );
    assert.ok(
      (service.subscription.cursor ?? BASE) - BASE < total * 0.9,
      "the kill comes while batches are being written",
    );
    const killedAt = Date.now();
    const promoted = await cluster.killMaster(victim);
    for (let p = 0; p < PARTITIONS; p++) {
      if (owners[p] === victim) assert.equal(await cluster.masterOf(streams[p]), promoted);
    }
    await waitFor("every cursor to reach the last frame", async () => {
      return (await cursors(redis)).every((c) => c === total);
    }, 180_000);
    // The partitions of the killed master went on on its replica.
    for (let p = 0; p < PARTITIONS; p++) {
      if (owners[p] !== victim) continue;
      const [[id]] = await redis.xrevrange(streams[p], "+", "-", "COUNT", 1);
      assert.ok(Number(id.split("-")[0]) > killedAt, `partition ${p} written after the kill`);
    }
    const all = expectedEvents(total);
    await assertExactlyOnce(redis, all);
    assert.deepEqual(await countedEvents(redis, all), tally(all), "each event counted once");
  } finally {
    await service.stop();
    redis.disconnect();
  }
});
