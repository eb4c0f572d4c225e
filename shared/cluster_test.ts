/**
 * The cluster's shape as the services see it, on a real local Redis Cluster: the slot of a
 * key as Redis computes it, the master that serves it, a walk of every master refused while
 * a slot migrates, and a read of several partitions of which one fails, which leaves the
 * others' delivered entries to be read again first.
 */
import assert from "node:assert/strict";
import { ClusterUnsettledError, keySlot, masterOf, slotOwners } from "./cluster.ts";
import { type Entry, GroupConsumer } from "./group_consumer.ts";
import { createLogger } from "./log.ts";
import { type Cluster, isCluster, scanKeys } from "./redis.ts";
import { startRedisCluster } from "./testing/redis_cluster.ts";

Deno.test("keySlot() is Redis Cluster's hash slot: CRC16 of the hash tag or the key, modulo 16384", () => {
  // The reference value of the Redis Cluster specification: CRC16("123456789") = 0x31C3.
  assert.equal(keySlot("123456789"), 0x31c3);
  assert.equal(keySlot("{user1000}.following"), keySlot("{user1000}.followers"));
  assert.equal(keySlot("foo{123456789}bar"), 0x31c3, "the tag alone is hashed");
  assert.notEqual(keySlot("foo{}{bar}"), keySlot("bar"), "an empty tag is no tag");
  assert.equal(keySlot("foo{{bar}}zap"), keySlot("{bar"), "the tag ends at the first }");
  for (const key of ["", "a", "l:{did:plc:x}:2901", "é{ü}"]) {
    assert.ok(keySlot(key) >= 0 && keySlot(key) < 16384);
  }
});

class Reader extends GroupConsumer {
  read(streams: string[], ids: string[]) {
    return this.readGroup(streams, ids, false);
  }
  get recovering() {
    return this.recover;
  }
  set recovering(value: boolean) {
    this.recover = value;
  }
  protected async ensureGroups() {}
  protected async taken() {}
  protected async turn() {}
  protected async failed() {}
  protected async drain() {}
}

Deno.test("on a Redis Cluster: slots as the servers compute them, walks refused while a slot migrates, and a failed partition's read makes the others' entries read again", async () => {
  await using cluster = await startRedisCluster();
  const redis = await cluster.connect();
  try {
    assert.ok(isCluster(redis));
    const c = redis as Cluster;
    const keys = Array.from({ length: 60 }, (_, i) => i % 3 ? `k:${i}:é` : `t:{acct${i}}:${i}`);
    for (const key of keys) await c.set(key, "1");
    const port = cluster.ports[0];
    for (const key of keys) {
      const slot = Number((await cluster.cli(port, "CLUSTER", "KEYSLOT", key)).trim());
      assert.equal(keySlot(key), slot, key);
      assert.equal(masterOf(c, key), `127.0.0.1:${await cluster.masterOf(key)}`, key);
    }

    // Settled: a walk finds every key; a slot migrating: refused, before any page.
    const owners = await slotOwners(c);
    const found = new Set<string>();
    for await (const page of scanKeys(c)) page.forEach((k) => found.add(k));
    assert.deepEqual([...found].sort(), [...keys].sort());
    const slot = keySlot(keys[0]);
    const from = await cluster.masterOf(keys[0]);
    const ids = await Promise.all(cluster.ports.map(async (p) => ({
      port: p,
      id: (await cluster.cli(p, "CLUSTER", "MYID")).trim(),
      role: (await cluster.cli(p, "ROLE")).split("\n")[0].trim(),
    })));
    const to = ids.find((n) => n.role === "master" && n.port !== from)!;
    await cluster.cli(from, "CLUSTER", "SETSLOT", String(slot), "MIGRATING", to.id);
    await assert.rejects(slotOwners(c), ClusterUnsettledError);
    await assert.rejects(async () => {
      for await (const _ of scanKeys(c)) { /* refused before the first page */ }
    }, ClusterUnsettledError);
    await cluster.cli(from, "CLUSTER", "SETSLOT", String(slot), "STABLE");
    assert.equal(await slotOwners(c), owners, "the same owners once stable again");

    // Four partitions on several masters; the third has no group, so its read fails.
    const streams = [0, 1, 2, 3].map((p) => `s:{part${p}}`);
    assert.ok(new Set(streams.map((s) => masterOf(c, s))).size >= 2);
    for (const [p, stream] of streams.entries()) {
      await c.xadd(stream, "*", "n", String(p));
      if (p !== 2) await c.xgroup("CREATE", stream, "g", "0", "MKSTREAM");
    }
    const reader = new Reader(
      c as never,
      createLogger("test", { level: "error", write: () => {} }),
      { partitions: 4, group: "g", name: "r", batchSize: 10, leaseMs: 10_000 },
      { key: (p) => `lease:{part${p}}`, onHeld: () => {} },
    );
    try {
      reader.recovering = false;
      await assert.rejects(reader.read(streams, streams.map(() => ">")), /NOGROUP/);
      assert.equal(reader.recovering, true, "the next read starts with the pending entries");
      for (const stream of [streams[0], streams[1], streams[3]]) {
        const [pending] = await c.xpending(stream, "g") as [number];
        assert.equal(pending, 1, `${stream}: delivered by the read that failed`);
      }
      await c.xgroup("CREATE", streams[2], "g", "0");
      const again = await reader.read(streams, streams.map(() => "0")) ?? [];
      const delivered = new Map(again.map(([s, entries]) => [s, entries as Entry[]]));
      for (const p of [0, 1, 3]) assert.equal(delivered.get(streams[p])?.length, 1);
    } finally {
      await reader.stop();
    }
  } finally {
    redis.disconnect();
  }
});
