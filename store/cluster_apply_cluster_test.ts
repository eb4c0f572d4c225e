/**
 * The apply in two rounds (cluster_apply.ts) on a real local Redis Cluster (3 masters, 3
 * replicas), against the one-call apply on a single server: the same workload of every kind
 * of operation, in batches that stop after a round and come again cut elsewhere, with
 * WAIT for a replica, while slots move to another master (redis-cli --cluster reshard) and
 * a master is killed (SIGKILL; its replica takes over). A batch that fails is sent again,
 * as the indexer does. At the end both stores hold the same, key by key.
 */
import assert from "node:assert/strict";
import { errorMessage } from "@bsky/shared/errors";
import type { RedisClient } from "@bsky/shared/redis";
import { startRedisCluster } from "@bsky/shared/testing/redis_cluster";
import { connectRedis } from "@bsky/shared/redis";
import { startRedisServer } from "@bsky/shared/testing/redis_server";
import { Applier } from "./apply.ts";
import { ClusterApplier, type ClusterEntry } from "./cluster_apply.ts";
import { writeBySlot } from "./slot_writes.ts";
import { random } from "./testing/generate.ts";
import { handOutOptCodes, mixedWorkload, storeContents } from "./testing/two_rounds.ts";

const OPTIONS = { retentionDays: 30, memoryHours: 48 };
const ack = (batch: ClusterEntry[]) => ({
  stream: "fh:{fh:0}:events",
  group: "indexer",
  entryIds: batch.map((e) => e.id),
});

/** Tries `step` until it works (a slot moved, a master failed over): the indexer's way. */
async function untilApplied<T>(step: () => Promise<T>, failures: string[]): Promise<T> {
  for (let attempt = 0;; attempt++) {
    try {
      return await step();
    } catch (err) {
      failures.push(errorMessage(err));
      if (attempt > 200) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

Deno.test("on a Redis Cluster, the apply in two rounds leaves what the one-call apply leaves, through stops, a reshard and a failover", async () => {
  await using cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
  await using server = await startRedisServer();
  const single = await connectRedis(server.url, { name: "single" });
  const split = await cluster.connect();
  try {
    await handOutOptCodes(single);
    await handOutOptCodes(split as RedisClient);
    const one = new Applier(single, OPTIONS);
    const two = new ClusterApplier(split, new Applier(split, OPTIONS), {
      waitReplicas: 1,
      waitMs: 2000,
    });
    const entries = mixedWorkload().flat();
    const rand = random(5);
    const failures: string[] = [];
    const [first, second] = (await cluster.topology()).filter((n) => n.role === "master");
    let at = 0, stops = 0, batches = 0, alone = 0;
    let moving: Promise<void> | undefined;
    let killed = false;
    while (at < entries.length) {
      batches++;
      // A third of the way in, slots start moving; at two thirds, a master dies.
      if (!moving && at > entries.length / 3) {
        moving = cluster.reshard(first.port, second.port, 300);
      }
      if (!killed && at > (2 * entries.length) / 3) {
        await moving;
        await cluster.killMaster(second.port);
        killed = true;
      }
      const batch = entries.slice(at, at + 20 + Math.floor(rand() * 100));
      const last = batch.at(-1)!.id;
      if (rand() < 0.4) {
        const stop = rand();
        await untilApplied(async () => {
          const done = await two.firstRound(0, batch, batch[0].id, last);
          if (stop < 0.5) await writeBySlot(split, "0", done.writes, last);
        }, failures);
        stops++;
        const again = entries.slice(
          at,
          at + Math.max(1, batch.length + Math.floor(rand() * 60) - 30),
        );
        alone += (await untilApplied(() => two.apply(0, again, ack(again)), failures)).alone;
        await one.apply(again.map((e) => e.event));
        at += again.length;
        continue;
      }
      alone += (await untilApplied(() => two.apply(0, batch, ack(batch)), failures)).alone;
      await one.apply(batch.map((e) => e.event));
      at += batch.length;
    }
    await moving;
    assert.ok(killed && stops > 5, `${stops} stops of ${batches} batches`);
    // After the failover, the promoted replica has none of its own: its calls are not
    // waited for (no failover could lose them) but counted.
    assert.ok(alone > 0, "calls to a master without a replica");
    const [x, y] = [await storeContents(single), await storeContents(split)];
    assert.deepEqual([...y.keys()], [...x.keys()]);
    for (const [key, value] of x) assert.equal(y.get(key), value, key);
    console.log(
      `${batches} batches, ${stops} stops, ${failures.length} calls failed and sent again${
        failures.length ? ` (first: ${failures[0].slice(0, 160)})` : ""
      }`,
    );
  } finally {
    single.disconnect();
    split.disconnect();
  }
});
