/**
 * The firehose on a real local Redis Cluster (3 masters, 3 replicas): its partitions spread
 * over the masters, each written atomically with its own cursor. Killed with SIGKILL mid-run
 * and started again, with a master killed under it (its replica takes over), or with slots
 * moved to another master under it (and stopped while one is split between two), every
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
  deadline,
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

/**
 * Each partition's stream against what it should hold of `expected`, in order, and the
 * network counters against `expected`: each event counted once.
 */
async function assertExactlyOnce(redis: Redis, expected: FirehoseEvent[]) {
  for (let p = 0; p < PARTITIONS; p++) {
    const events = await readStreams(redis, [streams[p]]);
    const want = inPartition(expected, p);
    assert.equal(events.length, want.length, `partition ${p}: no event missing, none twice`);
    assert.deepEqual(events, want, `partition ${p}: the same events in the same order`);
  }
  assert.deepEqual(
    await countedEvents(redis, expected),
    tally(expected),
    "each event counted once",
  );
}

/** Waits until every cursor (the partitions', the counters') is at the last of `total` frames. */
async function untilWritten(redis: Redis, total: number) {
  await waitFor("every cursor to reach the last frame", async () => {
    return (await cursors(redis)).every((c) => c === total);
  }, 180_000);
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
    await untilWritten(redis, total);
    last.kill("SIGTERM");
    await last.status;
    await assertExactlyOnce(redis, all);
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
    await untilWritten(redis, total);
    // The partitions of the killed master went on on its replica.
    for (let p = 0; p < PARTITIONS; p++) {
      if (owners[p] !== victim) continue;
      const [[id]] = await redis.xrevrange(streams[p], "+", "-", "COUNT", 1);
      assert.ok(Number(id.split("-")[0]) > killedAt, `partition ${p} written after the kill`);
    }
    const all = expectedEvents(total);
    await assertExactlyOnce(redis, all);
  } finally {
    await service.stop();
    redis.disconnect();
  }
});

Deno.test("slots moved to another master under the running firehose (redis-cli --cluster reshard), and a stop while a slot is split: every partition still holds each event exactly once", async () => {
  await using cluster = await startRedisCluster();
  const redis = await cluster.connect();
  const loops = 240; // 36,000 frames: writing goes on through both moves
  const total = loops * frames.length;
  await using replay = startReplayServer({ frames, loops, chunk: 8 });
  const env = {
    REDIS_CLUSTER_NODES: cluster.nodes,
    FIREHOSE_PARTITIONS: String(PARTITIONS),
    FIREHOSE_BATCH_SIZE: "50",
    FIREHOSE_BATCH_MS: "5",
  };
  let { service, log } = await startTestFirehose("redis://127.0.0.1:1", replay.url, env);
  const written = () => (service.subscription.cursor ?? BASE) - BASE;
  try {
    // The partition whose slot comes first among its master's moves, with the slots before
    // it (a reshard takes a master's slots from its first).
    const masters = (await cluster.topology()).filter((n) => n.role === "master");
    const moves = await Promise.all(streams.map(async (stream, p) => {
      const slot = Number(
        (await cluster.cli(cluster.ports[0], "CLUSTER", "KEYSLOT", stream)).trim(),
      );
      const from = masters.find((m) => m.ranges.some(([a, b]) => a <= slot && slot <= b))!;
      const [first] = from.ranges.find(([a, b]) => a <= slot && slot <= b)!;
      return { p, from, slots: slot - first + 1 };
    }));
    const move = moves.sort((a, b) => a.slots - b.slots)[0];
    const to = masters.find((m) => m.id !== move.from.id)!;
    await waitFor("a tenth written", () => written() >= total / 10, 120_000);
    assert.ok(written() < total / 2, "the slots move while batches are being written");
    await cluster.reshard(move.from.port, to.port, move.slots);
    assert.equal(await cluster.masterOf(streams[move.p]), to.port, "the partition moved");
    assert.ok(written() < total, "the slots moved while batches were being written");

    // Another partition's slot moves key by key: for a while its stream is on the new master
    // and its cursor still on the old one, and its writes are refused (TRYAGAIN). Stopped
    // then, the firehose stops, with what it could not write after its durable cursors.
    const other = moves.find((m) => m.p !== move.p)!;
    const cursorKey = cursorKeys[other.p];
    const from = await cluster.masterOf(streams[other.p]);
    const dest = masters.find((m) => m.port !== from)!;
    const slot = Number((await cluster.cli(from, "CLUSTER", "KEYSLOT", cursorKey)).trim());
    const fromId = (await cluster.cli(from, "CLUSTER", "MYID")).trim();
    await cluster.cli(dest.port, "CLUSTER", "SETSLOT", String(slot), "IMPORTING", fromId);
    await cluster.cli(from, "CLUSTER", "SETSLOT", String(slot), "MIGRATING", dest.id);
    const migrate = (key: string) =>
      cluster.cli(from, "MIGRATE", "127.0.0.1", String(dest.port), "", "0", "5000", "KEYS", key);
    assert.ok(written() < total * 0.9, "the slot splits while batches are being written");
    await migrate(streams[other.p]);
    try {
      await waitFor(
        "a write refused while the slot is split",
        () =>
          log.lines.some((l) =>
            l.msg === "Cannot write a batch to Redis" && /TRYAGAIN/.test(String(l.err))
          ),
        60_000,
      );
      await deadline("stop() while the slot is split", 30_000, service.stop());
      assert.ok(written() < total, "stopped with events not written");
    } finally {
      await migrate(cursorKey);
      // The new owner first, then the old one, then the others.
      const order = [dest.port, from, ...masters.map((m) => m.port)];
      for (const port of new Set(order)) {
        await cluster.cli(port, "CLUSTER", "SETSLOT", String(slot), "NODE", dest.id);
      }
    }
    assert.equal(await cluster.masterOf(streams[other.p]), dest.port, "the second partition moved");

    // Started again, it goes on from its cursors.
    ({ service, log } = await startTestFirehose("redis://127.0.0.1:1", replay.url, env));
    await untilWritten(redis, total);
    const all = expectedEvents(total);
    await assertExactlyOnce(redis, all);
  } finally {
    await service.stop();
    redis.disconnect();
  }
});
