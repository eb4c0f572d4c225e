/**
 * The reclaiming of ids on a real local Redis Cluster (3 masters, 3 replicas) with a
 * running indexer (store/reclaim.ts): the sweep raises its fence once no batch reads ids,
 * and the ids of idle accounts lose their DIDs' mappings; the indexer then drops the ids it
 * had cached, so that a DID that comes back is interned anew and nothing is written under
 * its old id, which the next sweep frees with whatever a late writer left under it. While
 * the fence is up no batch reads ids (new entries, entries read again after a reconnection,
 * entries claimed from another indexer); a writer that is not done holds the reclaiming
 * back: nothing is retracted.
 */
import assert from "node:assert/strict";
import { encodeEvent, EVENT_VERSION, type FirehoseEvent } from "@bsky/shared/events";
import { firehoseKeys } from "@bsky/shared/keys";
import { createLogger } from "@bsky/shared/log";
import type { Redis } from "@bsky/shared/redis";
import { startRedisCluster } from "@bsky/shared/testing/redis_cluster";
import { settled } from "@bsky/shared/testing/settled";
import { Applier } from "@bsky/store/apply";
import { ClusterApplier } from "@bsky/store/cluster_apply";
import { idOf as storedId } from "@bsky/store/queries";
import { HOUR_MS, storeKeys, WEEK_HOURS } from "@bsky/store/layout";
import { reclaimRetired } from "@bsky/store/retention";
import { create, like } from "@bsky/store/testing/fixtures";
import { didOf, tidOf } from "@bsky/store/testing/generate";
import { StreamConsumer } from "../consumer.ts";
import { indexerMetrics } from "../metrics.ts";

const GROUP = "indexer";
const eventually = (check: () => Promise<void>, timeoutMs = 30_000) => settled(check, timeoutMs);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("on a Redis Cluster ids go back behind a fence the indexer's batches wait at, and it reads the ids it cached again", async () => {
  await using cluster = await startRedisCluster();
  const redis = await cluster.connect();
  const lines: string[] = [];
  const log = createLogger("test", { level: "info", write: (line) => lines.push(line) });
  const indexer = (name: string) => {
    const single = new Applier(redis, { retentionDays: 30, memoryHours: 48 });
    const applier = new ClusterApplier(redis, single, { waitReplicas: 1, waitMs: 1000 });
    return new StreamConsumer(redis, applier, indexerMetrics(), log, {
      partitions: 2,
      group: GROUP,
      name,
      batchSize: 50,
      leaseMs: 6000,
      blockMs: 200,
    });
  };
  const consumer = indexer("indexer-1");
  let standby: StreamConsumer | undefined;
  const [X, Y] = [didOf(1), didOf(2)];
  let k = 0;
  const publish = async (event: FirehoseEvent, p = 0) =>
    await redis.xadd(
      firehoseKeys.stream(p),
      "*",
      "v",
      String(EVENT_VERSION),
      "e",
      encodeEvent(event),
    );
  const idOf = async (did: string) => (await storedId(redis, did)) ?? null;
  const now = Date.now();
  const week = Math.floor(now / HOUR_MS / WEEK_HOURS);
  const running = consumer.start();
  try {
    // Y follows X: X has an id, cached by the indexer, and no key of its own (follows are
    // kept in the follower's set only).
    await publish(create(Y, "app.bsky.graph.follow", tidOf(k++), { subject: X }, now));
    await eventually(async () =>
      assert.equal(await redis.scard(storeKeys.graph(Number(await idOf(Y)))), 1)
    );
    const x0 = Number(await idOf(X));
    assert.ok(x0 > 0);
    // The batch done (its second round takes X out of the retiring ids, as a follow does)...
    await eventually(async () => assert.equal(await redis.hlen(storeKeys.idWriters), 0));
    // ...X retires (the walk of a sweep would have found it idle).
    await redis.sadd(storeKeys.retiringIds, x0, -x0);

    const first = await reclaimRetired(redis, { retentionDays: 30, now, fenceWaitMs: 20_000 });
    assert.equal(first.fence, "stopped");
    assert.equal(first.retracted, 1);
    assert.equal(first.reclaimed, 0, "freed only at the next sweep");
    assert.equal(await idOf(X), null, "X's DID no longer maps to its id");
    assert.equal(await redis.exists(storeKeys.idFence), 0, "the fence is down");

    // X comes back: Y likes its post. The indexer had both ids cached (no DID of the batch
    // is new, so nothing is interned but by the epoch's check); it reads them again.
    await publish(like(Y, tidOf(k++), X, now));
    await eventually(async () => assert.notEqual(await idOf(X), null));
    const x1 = Number(await idOf(X));
    assert.notEqual(x1, x0, "interned anew");
    await eventually(async () => assert.equal(await redis.exists(storeKeys.log(x1, week)), 1));
    assert.equal(await redis.exists(storeKeys.log(x0, week)), 0, "nothing under the old id");

    // A late writer (the profile upkeep, which read the mapping before it went) wrote under
    // the old id: the next sweep deletes it and frees the id.
    await redis.hset(storeKeys.profile(x0), "handle", "late.test");
    await redis.zadd(storeKeys.handles, 0, `late.test\0${x0}`);
    const second = await reclaimRetired(redis, { retentionDays: 30, now, fenceWaitMs: 20_000 });
    assert.equal(second.reclaimed, 1);
    assert.equal(second.fence, "not raised", "nothing retired: no fence");
    assert.equal(await redis.exists(storeKeys.profile(x0)), 0);
    assert.deepEqual(await redis.zrange(storeKeys.handles, "0", "-1"), []);
    assert.deepEqual(await redis.lrange(storeKeys.freeIds, 0, -1), [String(x0)]);
    assert.equal(await redis.hget(storeKeys.idToDid(x0), String(x0 % 128)), null);

    // While a fence is up no batch reads ids: the indexer reads a new entry, its batch is
    // refused, and it waits; nor after a reconnection, which has it read its pending
    // entries again.
    await redis.set(storeKeys.idFence, "held", "PX", 60_000);
    const W = didOf(4);
    // What a third indexer read and never applied: more than one claim's worth.
    const V = Array.from({ length: 120 }, (_, i) => didOf(100 + i));
    await publish(like(W, tidOf(k++), Y, now), 1);
    await eventually(() =>
      Promise.resolve(
        assert.ok(lines.some((l) => l.includes("Waiting at the fence")), "the indexer waits"),
      )
    );
    (consumer as unknown as { reader: Redis }).reader.emit("+node");
    await sleep(1000);
    assert.equal(await idOf(W), null, "not applied while the fence is up");
    assert.equal(await redis.hlen(storeKeys.idWriters), 0, "no batch reads ids");
    // Taken over by another indexer while the fence is up: what the one before left
    // unacknowledged, and what a third read and never applied, waits too.
    await consumer.stop();
    await running;
    for (const v of V) await publish(like(v, tidOf(k++), Y, now), 0);
    await redis.xreadgroup("GROUP", GROUP, "gone", "STREAMS", firehoseKeys.stream(0), ">");
    standby = indexer("indexer-2");
    const taking = standby.start();
    await eventually(() => Promise.resolve(assert.deepEqual(standby!.owned, [0, 1])));
    await sleep(1000);
    assert.equal(await idOf(W), null, "claimed, not applied");
    for (const v of V) assert.equal(await idOf(v), null, "claimed, not applied");
    await redis.del(storeKeys.idFence);
    // Every entry applied and acknowledged, every batch done.
    await eventually(async () => {
      for (const p of [0, 1]) {
        const [pending] = await redis.xpending(firehoseKeys.stream(p), GROUP) as [number];
        assert.equal(pending, 0);
      }
      assert.equal(await redis.hlen(storeKeys.idWriters), 0, "every batch said it was done");
    });
    // The id given back is the one interned next.
    const given = [await idOf(W), ...await Promise.all(V.map(idOf))];
    assert.ok(given.includes(x0));
    // Each once: Y received one like from each.
    const y = Number(await idOf(Y));
    const received = (await redis.getBuffer(storeKeys.log(y, week)))!.length / 5;
    assert.equal(received, 1 + V.length + 1, "X's like, and one from each of them");
    await standby.stop();
    await taking;

    // A writer that is not done (killed between its two rounds, say): nothing is retracted.
    await redis.hset(storeKeys.idWriters, "p1", "indexer-3");
    const w = Number(await idOf(W));
    await redis.del(storeKeys.log(w, week));
    await redis.sadd(storeKeys.retiringIds, w, -w);
    const held = await reclaimRetired(redis, { retentionDays: 30, now, fenceWaitMs: 500 });
    assert.equal(held.fence, "timed out");
    assert.equal(held.retracted, 0);
    assert.equal(await idOf(W), w, "W keeps its id");
    assert.equal(await redis.exists(storeKeys.idFence), 0, "the fence is down");
  } finally {
    await consumer.stop();
    await standby?.stop();
    (redis as Redis).disconnect();
  }
});
