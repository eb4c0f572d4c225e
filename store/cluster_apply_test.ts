import assert from "node:assert/strict";
import type { FirehoseEvent } from "@bsky/shared/events";
import { Buffer } from "node:buffer";
import { connectRedis, type Redis } from "@bsky/shared/redis";
import { startRedisServer } from "@bsky/shared/testing/redis_server";
import { Applier } from "./apply.ts";
import { ClusterApplier, type ClusterEntry } from "./cluster_apply.ts";
import { storeKeys } from "./layout.ts";
import { writeBySlot } from "./slot_writes.ts";
import { didOf, generateEvents, random, recentStart, tidOf } from "./testing/generate.ts";

const OPTIONS = { retentionDays: 30, memoryHours: 48 };
const STREAM = "fh:{fh:0}:events";

/**
 * Everything a store holds, comparable: per key its type, expiry and content; logs and
 * posts by language as sorted entries (their order in a string does not count), sets
 * sorted. The watermarks of writes by slot are left out (one way of applying keeps them).
 */
async function contents(redis: Redis): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const key of (await redis.keys("*")).sort()) {
    if (key.startsWith("sw:{")) continue;
    const type = await redis.type(key);
    const expiry = await redis.call("EXPIRETIME", key);
    let value: unknown;
    if (type === "string") {
      const bytes = (await redis.getBuffer(key))!;
      const width = key.startsWith("l:{") ? 5 : key.startsWith("lp:{") ? 6 : 0;
      if (width === 0) value = bytes.toString("hex");
      else {
        const entries: string[] = [];
        for (let k = 0; k < bytes.length; k += width) {
          entries.push(bytes.subarray(k, k + width).toString("hex"));
        }
        value = entries.sort();
      }
    } else if (type === "hash") {
      const h = await redis.hgetallBuffer(key);
      value = Object.entries(h).map(([f, v]) =>
        `${Buffer.from(f).toString("hex")}=${v.toString("hex")}`
      )
        .sort();
    } else if (type === "zset") value = await redis.zrange(key, "0", "-1", "WITHSCORES");
    else if (type === "set") value = (await redis.smembers(key)).sort();
    else value = type;
    out.set(key, JSON.stringify([type, expiry, value]));
  }
  return out;
}

/** A workload of every kind of operation, in batches of entries with stream ids. */
function workload(): ClusterEntry[][] {
  const start = recentStart();
  const events: FirehoseEvent[] = [
    ...generateEvents({ accounts: 150, events: 2500, seed: 7, start, spanMs: 20 * 60_000 }),
  ];
  const time = start + 25 * 60_000;
  let seq = 10_000_000;
  const rand = random(3);
  // Blocks made twice (a further record), ended, an account deleted with its blocks, opt codes.
  for (let k = 0; k < 40; k++) {
    const did = didOf(Math.floor(rand() * 30)), subject = didOf(30 + Math.floor(rand() * 30));
    const block = (rkey: string): FirehoseEvent => ({
      v: 1,
      kind: "commit",
      seq: ++seq,
      time,
      did,
      action: "create",
      collection: "app.bsky.graph.block",
      rkey,
      subject,
    });
    events.push(block(tidOf(900_000 + 2 * k)), block(tidOf(900_001 + 2 * k)));
    if (k % 3 === 0) {
      events.push({
        v: 1,
        kind: "commit",
        seq: ++seq,
        time,
        did,
        action: "delete",
        collection: "app.bsky.graph.block",
        rkey: tidOf(900_000 + 2 * k),
      });
    }
  }
  for (const k of [1, 2]) {
    events.push({
      v: 1,
      kind: "commit",
      seq: ++seq,
      time,
      did: didOf(k),
      action: "create",
      collection: "app.bsky.feed.post",
      rkey: tidOf(950_000 + k),
      chars: 12,
      opt: `out:CODE${k}`,
    });
  }
  events.push({
    v: 1,
    kind: "account",
    seq: ++seq,
    time,
    did: didOf(3),
    active: false,
    status: "deleted",
  });
  const batches: ClusterEntry[][] = [];
  for (let k = 0; k < events.length; k += 97) {
    batches.push(events.slice(k, k + 97).map((event, j) => ({ id: `1-${k + j + 1}`, event })));
  }
  return batches;
}

async function twoStores(fn: (single: Redis, split: Redis) => Promise<void>) {
  await using a = await startRedisServer();
  await using b = await startRedisServer();
  const single = await connectRedis(a.url, { name: "single" });
  const split = await connectRedis(b.url, { name: "split" });
  try {
    // The opt codes the API handed out (the second one for another action).
    for (const redis of [single, split]) {
      await redis.set(storeKeys.optCode("CODE1"), `${didOf(1)} out`, "EX", 3600);
      await redis.set(storeKeys.optCode("CODE2"), `${didOf(2)} in`, "EX", 3600);
    }
    await fn(single, split);
  } finally {
    single.disconnect();
    split.disconnect();
  }
}

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
    for (const batch of workload()) {
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
    const [x, y] = [await contents(single), await contents(split)];
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
    const entries = workload().flat();
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
    const [x, y] = [await contents(single), await contents(split)];
    assert.deepEqual([...y.keys()], [...x.keys()]);
    for (const [key, value] of x) assert.equal(y.get(key), value, key);
  });
});
