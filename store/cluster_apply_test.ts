import assert from "node:assert/strict";
import { Applier, FencedError } from "./apply.ts";
import { ClusterApplier, type ClusterEntry } from "./cluster_apply.ts";
import { storeKeys } from "./layout.ts";
import { writeBySlot } from "./slot_writes.ts";
import { account, block } from "./testing/fixtures.ts";
import { didOf, random, tidOf } from "./testing/generate.ts";
import { mixedWorkload, storeContents, twoStores } from "./testing/two_rounds.ts";

const OPTIONS = { retentionDays: 30, memoryHours: 48 };
const STREAM = "fh:{fh:0}:events";

const ack = (batch: ClusterEntry[]) => ({
  stream: STREAM,
  group: "indexer",
  entryIds: batch.map((e) => e.id),
});

Deno.test("applied in two rounds, a batch leaves the store as the one-call apply does", async () => {
  await twoStores(async (single, split) => {
    const one = new Applier(single, OPTIONS);
    const two = new ClusterApplier(split, new Applier(split, OPTIONS));
    let applied = 0, writes = 0;
    for (const batch of mixedWorkload()) {
      const a = await one.apply(batch.map((e) => e.event));
      const b = await two.apply(0, batch, ack(batch));
      assert.deepEqual(
        [b.applied, b.duplicate, b.unmatched, b.late],
        [a.applied, a.duplicate, a.unmatched, a.late],
      );
      applied += b.applied;
      writes += b.second.applied;
    }
    assert.ok(applied > 2000 && writes > 2000, `${applied} applied, ${writes} second-round writes`);
    // A read that brought nothing applies nothing.
    assert.equal((await two.apply(0, [], ack([]))).applied, 0);
    const [x, y] = [await storeContents(single), await storeContents(split)];
    assert.deepEqual([...y.keys()], [...x.keys()]);
    for (const [key, value] of x) assert.equal(y.get(key), value, key);
    // What the workload was made to reach.
    assert.equal(await split.get(storeKeys.optCode("CODE1")), `done ${didOf(1)} out`);
    assert.equal(await split.get(storeKeys.optCode("CODE2")), `${didOf(2)} in`);
    // Blocks made twice keep a further record (scored below 0) in the blocker's list.
    let further = 0;
    for (const key of await split.keys("bo:{*}")) {
      further += await split.zcount(key, "-inf", "(0");
    }
    assert.ok(further > 0, "further records of blocks");
  });
});

Deno.test("a batch sent again after a stop in either round, whole or cut elsewhere, is applied once", async () => {
  await twoStores(async (single, split) => {
    const one = new Applier(single, OPTIONS);
    const two = new ClusterApplier(split, new Applier(split, OPTIONS));
    const entries = mixedWorkload().flat();
    const rand = random(11);
    let at = 0, stops = 0;
    while (at < entries.length) {
      const batch = entries.slice(at, at + 20 + Math.floor(rand() * 100));
      const last = batch.at(-1)!.id;
      const stop = rand();
      if (stop < 0.5) {
        // A stop after the first round, or after both: the batch comes again, longer or
        // shorter (what a reader gets back from the pending entries).
        const first = await two.firstRound(0, batch, batch[0].id, last);
        if (stop < 0.25) await writeBySlot(split, "0", first.writes, last);
        stops++;
        const again = entries.slice(
          at,
          at + Math.max(1, batch.length + Math.floor(rand() * 60) - 30),
        );
        await two.apply(0, again, ack(again));
        await one.apply(again.map((e) => e.event));
        at += again.length;
        // Entries of the first try past the one sent again come in the next batch.
        continue;
      }
      await two.apply(0, batch, ack(batch));
      await one.apply(batch.map((e) => e.event));
      at += batch.length;
    }
    assert.ok(stops > 10, `${stops} stops`);
    const [x, y] = [await storeContents(single), await storeContents(split)];
    assert.deepEqual([...y.keys()], [...x.keys()]);
    for (const [key, value] of x) assert.equal(y.get(key), value, key);
  });
});

Deno.test("an account with 9,000 blocks deleted in two rounds ends them all, as the one-call apply does in steps", async () => {
  await twoStores(async (single, split) => {
    const one = new Applier(single, OPTIONS);
    const two = new ClusterApplier(split, new Applier(split, OPTIONS));
    const time = Date.now() - 60_000;
    const blocks = Array.from(
      { length: 9000 },
      (_, k) => block(didOf(0), tidOf(k), didOf(1 + k), time),
    );
    const deletion = account(didOf(0), false, "deleted");
    const batches = [...blocks, deletion].map((event, k) => ({ id: `1-${k + 1}`, event }));
    for (let k = 0; k < batches.length; k += 1000) {
      const batch = batches.slice(k, k + 1000);
      await one.apply(batch.map((e) => e.event));
      await two.apply(0, batch, ack(batch));
    }
    assert.equal(await split.exists(storeKeys.blocking(1)), 0, "its blocks ended");
    assert.equal(await split.zcard(storeKeys.blocksEnding), 0);
    const [x, y] = [await storeContents(single), await storeContents(split)];
    assert.deepEqual([...y.keys()], [...x.keys()]);
    for (const [key, value] of x) assert.equal(y.get(key), value, key);
  });
});

Deno.test("a batch says it writes from when it reads ids to its acknowledgement, also while the next one is prepared, and not while the fence is up", async () => {
  await twoStores(async (_single, split) => {
    const two = new ClusterApplier(split, new Applier(split, OPTIONS));
    const [first, second] = mixedWorkload();
    const lease = { key: storeKeys.lease(0), token: "indexer-1" };
    await split.set(lease.key, lease.token);
    const prepare = (batch: ClusterEntry[]) =>
      two.prepare(batch.map((e) => e.event), {
        ...ack(batch),
        lease,
        partition: 0,
        eventIds: batch.map((e) => e.id),
      });
    const writers = () => split.hgetall(storeKeys.idWriters);
    const a = await prepare(first);
    assert.deepEqual(Object.keys(await writers()), ["p0"]);
    // The next batch is prepared while this one applies (as the indexer does): when this
    // one is done, the partition still writes.
    const b = await prepare(second);
    await two.run(a);
    assert.deepEqual(Object.keys(await writers()), ["p0"], "the next batch still writes");
    await two.run(b);
    assert.deepEqual(await writers(), {}, "every batch done");
    // While the fence is up, no batch reads ids: nothing is said, nothing read.
    await split.set(storeKeys.idFence, "sweep");
    await assert.rejects(() => prepare(first), FencedError);
    assert.deepEqual(await writers(), {});
    // A prepared batch that will not run says it no longer writes.
    await split.del(storeKeys.idFence);
    await two.abandon(await prepare(first));
    assert.deepEqual(await writers(), {});
  });
});
