import assert from "node:assert/strict";
import { createLogger } from "./log.ts";
import { connectRedis } from "./redis.ts";
import { PartitionLeases } from "./partition_leases.ts";
import { startRedisServer } from "./testing/redis_server.ts";

const log = createLogger("test", { level: "error", write: () => {} });

Deno.test("PartitionLeases: each partition has one holder, a lost lease is noticed, and a release hands partitions over at once", async () => {
  await using server = await startRedisServer();
  const redis = await connectRedis(server.url, { name: "test" });
  try {
    const key = (p: number) => `lease:{t}:${p}`;
    const counts: number[] = [];
    const options = { partitions: 3, leaseMs: 60_000, key, log };
    const a = new PartitionLeases(redis, { ...options, name: "a", onHeld: (n) => counts.push(n) });
    const b = new PartitionLeases(redis, { ...options, name: "b" });
    assert.deepEqual(await a.refresh(), [0, 1, 2]);
    assert.deepEqual(await b.refresh(), []);
    assert.deepEqual(await a.refresh(), [], "renewed, not taken again");
    assert.ok(await redis.pttl(key(1)) > 50_000);
    // Another process holds partition 1 now (a's lease ran out meanwhile).
    await redis.set(key(1), "b");
    await a.refresh();
    assert.deepEqual(a.held, [0, 2]);
    assert.deepEqual(counts, [3, 3, 2]);
    await a.releaseAll();
    assert.equal(await redis.get(key(1)), "b", "only its own leases are released");
    assert.deepEqual(a.held, []);
    assert.deepEqual(await b.refresh(), [0, 2]);
    assert.deepEqual(b.held, [0, 2]);
    assert.ok(!b.has(1));
  } finally {
    redis.disconnect();
  }
});
