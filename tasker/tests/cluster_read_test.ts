/**
 * The tasker's reading of the firehose streams on a real local Redis Cluster (3 masters, 3
 * replicas), with the partitions on several masters: one tasker holding every partition
 * hands each mention to its handler once, from every partition, acknowledges it and what
 * cannot be a mention, and a mention whose handling fails is read again from the pending
 * list, and keeps its leases while it blocks.
 */
import assert from "node:assert/strict";
import { encodeEvent, EVENT_VERSION, type FirehoseEvent } from "@bsky/shared/events";
import { firehoseKeys } from "@bsky/shared/keys";
import { createLogger } from "@bsky/shared/log";
import { created } from "@bsky/shared/testing/events";
import { startRedisCluster } from "@bsky/shared/testing/redis_cluster";
import { settled } from "@bsky/shared/testing/settled";
import { MentionConsumer } from "../consumer.ts";
import { taskerMetrics } from "../metrics.ts";

const PARTITIONS = 4;
const GROUP = "tasker";
/** Waits until a check of what the consumer did passes. */
const eventually = (check: () => void, timeoutMs?: number) =>
  settled(() => Promise.resolve().then(check), timeoutMs);
const quiet = createLogger("test", { level: "error", write: () => {} });

Deno.test("on a Redis Cluster the tasker reads every partition's stream, on several masters, and reads a failed mention again", async () => {
  await using cluster = await startRedisCluster();
  const redis = await cluster.connect();
  const streams = firehoseKeys.streams(PARTITIONS);
  const masters = new Set(await Promise.all(streams.map((s) => cluster.masterOf(s))));
  assert.ok(masters.size >= 2, `the partitions are on ${masters.size} masters`);

  const mentions: string[] = [];
  let k = 0;
  /** A post on partition `p`, a mention of a watched account or not. */
  const publish = async (p: number, mention: boolean) => {
    const rkey = `r${k++}`;
    const watched = mention ? { watched: { cid: `c${k}`, text: "@bot circles" } } : {};
    const e = created(`did:plc:p${p}`, "app.bsky.feed.post", rkey, watched, Date.now());
    await redis.xadd(streams[p], "*", "v", String(EVENT_VERSION), "e", encodeEvent(e));
    if (mention) mentions.push(rkey);
  };
  const handled: string[] = [];
  let failOnce = true;
  const handle = (e: FirehoseEvent) => {
    if (e.kind !== "commit") return Promise.resolve();
    if (e.rkey === "r7" && failOnce) {
      failOnce = false;
      return Promise.reject(new Error("not now"));
    }
    handled.push(e.rkey);
    return Promise.resolve();
  };
  const consumer = new MentionConsumer(redis, handle, taskerMetrics(), quiet, {
    partitions: PARTITIONS,
    group: GROUP,
    name: "tasker-1",
    batchSize: 20,
    leaseMs: 6000,
    blockMs: 400,
    concurrency: 4,
    maxAgeMs: 3_600_000,
  });
  const sorted = (a: string[]) => [...a].sort();
  try {
    const running = consumer.start();
    await eventually(() => assert.deepEqual(consumer.owned, [0, 1, 2, 3]));
    for (let i = 0; i < 48; i++) await publish(i % PARTITIONS, i % 3 === 1);
    await eventually(() => assert.deepEqual(sorted(handled), sorted(mentions)), 30_000);
    assert.equal(handled.length, mentions.length, "each mention handled once");
    assert.ok(!failOnce, "a mention failed once and was read again");
    // Idle for two leases: the blocking reads leave time to renew them.
    await new Promise((r) => setTimeout(r, 12_000));
    assert.deepEqual(consumer.owned, [0, 1, 2, 3], "every lease kept while reads block");
    await publish(3, true);
    await eventually(() => assert.deepEqual(sorted(handled), sorted(mentions)), 30_000);
    await settled(async () => {
      for (const stream of streams) {
        const [pending] = await redis.xpending(stream, GROUP) as [number];
        assert.equal(pending, 0, `${stream}: every entry acknowledged`);
      }
    });
    await consumer.stop();
    await running;
  } finally {
    await consumer.stop();
    redis.disconnect();
  }
});
