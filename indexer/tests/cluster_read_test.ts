/**
 * The indexer's reading of the firehose streams on a real local Redis Cluster (3 masters, 3
 * replicas), with the partitions on several masters: one indexer holding every partition
 * reads each one's entries (those there before it started and those published while it
 * waits), in order, once, and acknowledges them, and keeps its leases while it blocks. The
 * batches go to an applier that records them and acknowledges their entries, so that the
 * order each partition's entries came in is seen; the store's apply on a cluster has tests of
 * its own (store/cluster_apply_cluster_test.ts, scripts/tests/platform_cluster_test.ts).
 */
import assert from "node:assert/strict";
import { encodeEvent, EVENT_VERSION, type FirehoseEvent } from "@bsky/shared/events";
import { firehoseKeys } from "@bsky/shared/keys";
import { createLogger } from "@bsky/shared/log";
import { created } from "@bsky/shared/testing/events";
import { startRedisCluster } from "@bsky/shared/testing/redis_cluster";
import { settled } from "@bsky/shared/testing/settled";
import type { AckOptions, Applier } from "@bsky/store/apply";
import { StreamConsumer } from "../consumer.ts";
import { indexerMetrics } from "../metrics.ts";

const PARTITIONS = 4;
const GROUP = "indexer";
/** Waits until a check of what the consumer did passes. */
const eventually = (check: () => void, timeoutMs?: number) =>
  settled(() => Promise.resolve().then(check), timeoutMs);
const quiet = createLogger("test", { level: "error", write: () => {} });

Deno.test("on a Redis Cluster the indexer reads every partition's stream, on several masters, each entry once and in order", async () => {
  await using cluster = await startRedisCluster();
  const redis = await cluster.connect();
  const streams = firehoseKeys.streams(PARTITIONS);
  const masters = new Set(await Promise.all(streams.map((s) => cluster.masterOf(s))));
  assert.ok(masters.size >= 2, `the partitions are on ${masters.size} masters`);

  const published = streams.map((): string[] => []);
  let k = 0;
  const publish = async (p: number) => {
    const rkey = `r${k++}`;
    const e = created(`did:plc:p${p}`, "app.bsky.feed.like", rkey, { subject: "did:plc:x" }, 1);
    await redis.xadd(streams[p], "*", "v", String(EVENT_VERSION), "e", encodeEvent(e));
    published[p].push(rkey);
  };
  const applied = streams.map((): string[] => []);
  const applier = {
    prepare: (events: FirehoseEvent[], ack: AckOptions) => Promise.resolve({ events, ack }),
    run: async ({ events, ack }: { events: FirehoseEvent[]; ack: AckOptions }) => {
      for (const e of events) {
        if (e.kind === "commit") applied[streams.indexOf(ack.stream)].push(e.rkey);
      }
      if (ack.entryIds.length) await redis.xack(ack.stream, ack.group, ...ack.entryIds);
      return {};
    },
  } as unknown as Applier;
  const consumer = new StreamConsumer(redis, applier, indexerMetrics(), quiet, {
    partitions: PARTITIONS,
    group: GROUP,
    name: "indexer-1",
    batchSize: 50,
    leaseMs: 6000,
    blockMs: 400,
  });
  try {
    // Entries there before the group exists, then more while the indexer waits for them.
    for (let i = 0; i < 120; i++) await publish(i % PARTITIONS);
    const running = consumer.start();
    await eventually(() => assert.deepEqual(applied, published), 30_000);
    for (let i = 0; i < 40; i++) await publish((i * 3) % PARTITIONS);
    await eventually(() => assert.deepEqual(applied, published), 30_000);
    // Idle for two leases: the blocking reads leave time to renew them.
    await new Promise((r) => setTimeout(r, 12_000));
    assert.deepEqual(consumer.owned, [0, 1, 2, 3], "every lease kept while reads block");
    await publish(2);
    await eventually(() => assert.deepEqual(applied, published), 30_000);
    for (const stream of streams) {
      const [pending] = await redis.xpending(stream, GROUP) as [number];
      assert.equal(pending, 0, `${stream}: every entry acknowledged`);
    }
    await consumer.stop();
    await running;
  } finally {
    await consumer.stop();
    redis.disconnect();
  }
});
