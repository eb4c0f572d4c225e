/**
 * The scheduler's walks of the keyspace on a real local Redis Cluster (3 masters, 3
 * replicas), where SCAN walks one node: the same store, copied key by key from one
 * redis-server into the cluster (so its keys spread over every master), gives the same
 * keys to scanKeys() and the same answers from the top lists' totals, the retention sweep,
 * the counters' memory and the roll-up as on the one server.
 */
import assert from "node:assert/strict";
import { networkKeys, TOP_METRICS, type TopWindow } from "@bsky/shared/keys";
import type { Redis } from "@bsky/shared/redis";
import { allKeys, copyInto, withServerAndCluster } from "@bsky/shared/testing/redis_cluster";
import { storeKeys } from "@bsky/store/layout";
import { compactWeek } from "@bsky/store/rollup";
import { countersMemory } from "../jobs/counters.ts";
import { sweep } from "../jobs/sweep.ts";
import { windowTotals } from "../jobs/top_lists.ts";
import { fill } from "../testing/top_lists_check.ts";

const HOUR = 3_600_000;

/** Each window's totals as id → counts, whatever order the logs were read in. */
async function totalsOf(redis: Redis, now: number) {
  const windows: TopWindow[] = ["24h", "7d"];
  const { totals, logs, bytes, hidden } = await windowTotals(redis, windows, now);
  const rows = windows.map((w) => {
    const t = totals.get(w)!;
    const m = TOP_METRICS.length;
    return t.ids.map((id, s) => [id, [...t.counts.subarray(s * m, (s + 1) * m)]] as const)
      .sort((a, b) => a[0] - b[0]);
  });
  return { rows, logs, bytes, hidden };
}

Deno.test("on a Redis Cluster the scheduler's jobs walk the keys of every master", async () => {
  await withServerAndCluster(async (one, many, cluster) => {
    const now = Date.now();
    const week = Math.floor(now / HOUR / 168);
    await fill(one, now, { accounts: 120, events: 6000 });
    // Counters of the network, and keys the sweep reports: without a TTL, past the retention.
    const minute = Math.floor(now / 60_000);
    for (let m = 0; m < 5; m++) await one.hset(networkKeys.eventsMinute(minute - m), "x", 1);
    for (let id = 800_000; id < 800_030; id++) await one.set(storeKeys.log(id, week), "abcde");
    await one.set(storeKeys.log(800_100, week - 10), "abcde", "EX", 86400 * 365);

    // The same keys, values and TTLs on the cluster.
    const keys = await copyInto(one, many);
    const masters = (await cluster.topology()).filter((n) => n.role === "master");
    const sizes = await Promise.all(
      masters.map(async (n) => Number(await cluster.cli(n.port, "DBSIZE"))),
    );
    assert.ok(sizes.every((n) => n > 0), `keys on every master: ${sizes}`);
    assert.equal(sizes.reduce((a, b) => a + b), keys.length);

    assert.deepEqual(await allKeys(many), keys, "every key of every master, once");
    const logs = storeKeys.log("*", week);
    assert.deepEqual(await allKeys(many, logs), await allKeys(one, logs));

    assert.deepEqual(await totalsOf(many, now), await totalsOf(one, now), "top lists' totals");
    const [swept, sweptOne] = await Promise.all([
      sweep(many, { retentionDays: 30, fix: false, now }),
      sweep(one, { retentionDays: 30, fix: false, now }),
    ]);
    assert.equal(swept.scanned, keys.length);
    assert.deepEqual(swept, sweptOne, "the sweep's report");
    assert.equal(swept.noTtl["l:{id}:<n>"], 30);
    assert.equal(swept.expiredLogs, 1);
    assert.equal((await countersMemory(many)).keys, (await countersMemory(one)).keys);
    assert.ok((await countersMemory(many)).keys >= 5);

    const [rolled, rolledOne] = [
      await compactWeek(many, week, now),
      await compactWeek(one, week, now),
    ];
    assert.ok(rolled.keys > 30, `${rolled.keys} logs rolled up`);
    assert.deepEqual(rolled, rolledOne, "the roll-up's logs and bytes");
  });
});
