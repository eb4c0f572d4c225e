/**
 * Writes by slot (slot_writes.ts) on a real local Redis Cluster (3 masters, 3 replicas):
 * two partitions write batches to the logs and sorted sets of 300 accounts (slots on every
 * master) and to a shared slot (a count, strings, sorted sets of one member that each entry
 * replaces), one call per master, stopping with only some slots' writes landed and
 * sending batches again cut at other entries, while slots move to another master
 * (redis-cli --cluster reshard) and while the shared slot is split key by key (its strings
 * moved, its count, sets and watermarks not yet: its master's calls refused, nothing
 * written, until the move ends). At the end every key holds each entry's writes exactly
 * once, in order.
 */
import assert from "node:assert/strict";
import { keySlot, slotTag } from "@bsky/shared/cluster";
import type { Redis } from "@bsky/shared/redis";
import { startRedisCluster } from "@bsky/shared/testing/redis_cluster";
import { storeKeys } from "./keys.ts";
import { type EntryWrites, waitForReplicas, writeBySlot } from "./slot_writes.ts";

const ACCOUNTS = 300;
const BATCHES = 150;
const PER_BATCH = 30;
const FAR = 4_000_000_000;
/** Per partition, a sorted set in the shared slot ({g}), of one member at a time. */
const ONE_MEMBER = [storeKeys.blocksEnding, storeKeys.handles];

/** Partition p's entry i: its own week's log of two accounts, a block, a count. */
function entry(p: number, i: number): EntryWrites {
  const a = 1 + (i * 7 + p) % ACCOUNTS, b = 1 + (i * 13 + 5) % ACCOUNTS;
  return {
    id: `${1_700_000_000_000 + i}-${p}`,
    writes: [
      { op: "append", key: storeKeys.log(a, p), data: `<${i}>`, expireAt: FAR },
      { op: "append", key: storeKeys.log(b, p), data: `[${i}]`, expireAt: FAR },
      { op: "zadd", key: storeKeys.blockedBy(b), score: i, member: `${p}:${a}:${i}` },
      { op: "hincrby", key: storeKeys.recordBuckets, field: `p${p}`, by: 1 },
      // In the same slot as the count ({g}), written after it in a call.
      { op: "append", key: storeKeys.languagePosts(1000 + p), data: `(${i})` },
      // A sorted set of that slot with one member: each entry takes out the one before's and
      // adds its own, so that writes made in order would empty it and write it again.
      { op: "zrem", key: ONE_MEMBER[p], member: `m${i - 1}` },
      { op: "zadd", key: ONE_MEMBER[p], score: i, member: `m${i}` },
    ],
  };
}

/** What the keys hold once every entry is applied once (worked out here, not by the writer). */
function expected(entries: EntryWrites[][]): Map<string, string | string[]> {
  const out = new Map<string, string | string[]>();
  for (const e of entries.flat()) {
    for (const w of e.writes) {
      if (w.op === "append") out.set(w.key, `${out.get(w.key) ?? ""}${w.data}`);
      if (w.op === "zadd") {
        const now = (out.get(w.key) ?? []) as string[];
        out.set(w.key, [...new Set([...now, w.member])].sort());
      }
      if (w.op === "zrem") {
        out.set(w.key, ((out.get(w.key) ?? []) as string[]).filter((m) => m !== w.member));
      }
    }
  }
  return out;
}

async function actual(
  redis: Redis,
  keys: Iterable<string>,
): Promise<Map<string, string | string[]>> {
  const out = new Map<string, string | string[]>();
  for (const key of keys) {
    out.set(
      key,
      /^lp?:/.test(key) ? (await redis.get(key))! : (await redis.zrange(key, "0", "-1")).sort(),
    );
  }
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("on a Redis Cluster, writes by slot apply each entry once through stops, resends and moving slots", async () => {
  await using cluster = await startRedisCluster();
  const redis = await cluster.connect();
  try {
    const all = [0, 1].map((p) =>
      Array.from({ length: BATCHES * PER_BATCH }, (_, i) => entry(p, i))
    );
    const keys = new Set(all.flat().flatMap((e) => e.writes.map((w) => w.key)));
    const masters = (await cluster.topology()).filter((n) => n.role === "master");
    const used = new Set([...keys].map((k) => keySlot(k)));
    const ownerOf = (slot: number) =>
      masters.find((m) => m.ranges.some(([a, b]) => a <= slot && slot <= b))!;
    assert.equal(new Set([...used].map((s) => ownerOf(s).port)).size, 3, "slots on every master");

    /** Refused calls, and those refused for a key their node does not hold. */
    let refused = 0, notHeld = 0;
    let stops = 0;
    /** Set once the slots have moved; set too when the test fails, to stop the writers. */
    let resharded = false, moved = false, failed = false;
    /**
     * Sends `batch` until it lands: a refused call (an AggregateError) leaves the other
     * nodes' writes, as a stop does; anything else ends the test.
     */
    const send = async (p: number, batch: EntryWrites[]) => {
      for (;;) {
        let r;
        try {
          r = await writeBySlot(redis, String(p), batch, batch.at(-1)!.id);
        } catch (err) {
          if (!(err instanceof AggregateError) || failed) throw err;
          refused++;
          if (err.errors.some((e) => /non local key/.test(String(e)))) notHeld++;
          await sleep(50);
          continue;
        }
        assert.ok(r.calls <= 3, `${r.calls} calls: one per master at most`);
        return r;
      }
    };
    const progress = [0, 0];
    const writer = async (p: number) => {
      for (let k = 0; k < BATCHES; k++) {
        const batch = all[p].slice(k * PER_BATCH, (k + 1) * PER_BATCH);
        if (k % 3 === 1) {
          // Stopped after some slots' calls: only their writes landed. The batch is read
          // again with the next one's entries (cut elsewhere), or alone at the end.
          const slots = new Set([...used].filter((s) => (s + k) % 4 === 0));
          await send(
            p,
            batch.map((e) => ({
              id: e.id,
              writes: e.writes.filter((w) => slots.has(keySlot(w.key))),
            })),
          );
          stops++;
          const more = all[p].slice(k * PER_BATCH, (k + 2) * PER_BATCH - 7);
          await send(p, more);
        }
        await send(p, batch);
        progress[p] = k + 1;
        // Paced, and held halfway until the reshard is over and near the end until the
        // split is, so that slots move while batches are being written.
        await sleep(20);
        while (k === BATCHES / 2 && !resharded && !failed) await sleep(20);
        while (k === BATCHES - 10 && !moved && !failed) await sleep(20);
      }
    };
    // The slot split key by key below: the shared one ({g}), where each call counts before
    // it appends.
    const slot = keySlot(storeKeys.recordBuckets);
    // A writer's failure stops the test where it waits next, and is thrown at the end.
    const writing = Promise.all([writer(0), writer(1)]).then(() => undefined, (err) => {
      failed = true;
      return err as Error;
    });
    const unlessFailed = () => {
      if (failed) throw new Error("A writer failed (thrown below)");
    };
    try {
      // Slots move under the writes: a master's first slots up to a used one.
      while (progress[0] < 5) {
        unlessFailed();
        await sleep(10);
      }
      const from = masters[0];
      const [first] = from.ranges[0];
      const count = Math.min(...[...used].filter((s) => s >= first && s <= from.ranges[0][1])) -
        first + 1;
      await cluster.reshard(from.port, masters[1].port, count);
      assert.ok(progress[0] < BATCHES, "the slots moved while batches were being written");
      resharded = true;

      // The shared slot splits key by key: its appended strings move first, its count and
      // watermarks stay behind for a while, and its master refuses the calls that name the
      // keys it no longer holds (nothing of such a call is written, the count included)
      // until the move ends.
      const src = await cluster.masterOf(storeKeys.recordBuckets);
      const dest = masters.find((m) => m.port !== src)!;
      const srcId = (await cluster.cli(src, "CLUSTER", "MYID")).trim();
      await cluster.cli(dest.port, "CLUSTER", "SETSLOT", String(slot), "IMPORTING", srcId);
      await cluster.cli(src, "CLUSTER", "SETSLOT", String(slot), "MIGRATING", dest.id);
      const migrate = (key: string) =>
        cluster.cli(src, "MIGRATE", "127.0.0.1", String(dest.port), "", "0", "5000", "KEYS", key);
      // While the slot is migrating and none of its keys has moved, calls go on: in order,
      // a call's writes would empty its sorted set and write it again, and a key emptied
      // is one the node no longer holds.
      const at = [...progress];
      const until = Date.now() + 30_000;
      while ((progress[0] < at[0] + 3 || progress[1] < at[1] + 3) && Date.now() < until) {
        unlessFailed();
        await sleep(10);
      }
      assert.ok(
        progress[0] >= at[0] + 3 && progress[1] >= at[1] + 3,
        "writes go on while migrating",
      );
      const watermarks = storeKeys.slotWatermarks(slotTag(slot));
      // What stays behind: the count and the sorted sets of one member.
      const stay: string[] = [storeKeys.recordBuckets, ...ONE_MEMBER];
      const before = notHeld;
      for (const key of keys) {
        if (keySlot(key) === slot && !stay.includes(key)) await migrate(key);
      }
      const deadline = Date.now() + 30_000;
      while (notHeld === before && Date.now() < deadline) {
        unlessFailed();
        await sleep(20);
      }
      assert.ok(notHeld > before, "a call to the split slot was refused for a key moved");
      assert.ok(progress[0] < BATCHES && progress[1] < BATCHES, "split while batches are written");
      for (const key of stay) await migrate(key);
      await migrate(watermarks);
      for (const port of new Set([dest.port, src, ...masters.map((m) => m.port)])) {
        await cluster.cli(port, "CLUSTER", "SETSLOT", String(slot), "NODE", dest.id);
      }
      assert.equal(await cluster.masterOf(watermarks), dest.port, "the watermarks moved");
    } catch (err) {
      failed = true;
      throw (await writing) ?? err;
    }
    moved = true;
    const writerError = await writing;
    if (writerError) throw writerError;

    assert.ok(stops >= 2 * 50, `${stops} stops`);
    const want = expected(all);
    assert.deepEqual(await actual(redis, want.keys()), want);
    assert.deepEqual(await redis.hgetall(storeKeys.recordBuckets), {
      p0: String(BATCHES * PER_BATCH),
      p1: String(BATCHES * PER_BATCH),
    });
    for (const key of keys) {
      if (key.startsWith("l:")) assert.equal(await redis.expiretime(key), FAR, key);
    }
    for (const p of [0, 1]) {
      const lastOne = BATCHES * PER_BATCH - 1;
      assert.deepEqual(await redis.zrange(ONE_MEMBER[p], "0", "-1", "WITHSCORES"), [
        `m${lastOne}`,
        String(lastOne),
      ]);
    }
    // The split slot's watermarks: for each partition, at or past its last entry that
    // writes there (the end of the last batch that did).
    const marks = await redis.hgetall(storeKeys.slotWatermarks(slotTag(slot)));
    const ms = (id: string) => Number(id.split("-")[0]);
    for (const p of [0, 1]) {
      const lastHere = all[p].findLast((e) => e.writes.some((w) => keySlot(w.key) === slot))!;
      assert.ok(ms(marks[p]) >= ms(lastHere.id) && ms(marks[p]) <= ms(all[p].at(-1)!.id), marks[p]);
    }
  } finally {
    redis.disconnect();
  }
});

Deno.test("on a Redis Cluster, writes by slot wait for a replica: a batch acknowledged survives its master's failure, and a stalled replica makes each call short", async () => {
  await using cluster = await startRedisCluster();
  const redis = await cluster.connect();
  try {
    const batch = Array.from({ length: 200 }, (_, i) => entry(0, i));
    const last = batch.at(-1)!.id;
    // A replica still syncing after the start may not acknowledge in time: the batch is sent
    // again (each slot skips what it holds) until every replica has it.
    let written = await writeBySlot(redis, "0", batch, last, { waitReplicas: 1 });
    assert.equal(written.applied, 1400);
    for (let k = 0; written.short > 0 && k < 20; k++) {
      await new Promise((r) => setTimeout(r, 250));
      written = await writeBySlot(redis, "0", batch, last, { waitReplicas: 1 });
      assert.equal(written.applied, 0);
    }
    assert.deepEqual(written, { ...written, calls: 3, short: 0 });

    // The master of the first account's log fails; its replica, which acknowledged the
    // batch, takes over with all of it.
    const key = storeKeys.log(1 + (0 * 7) % ACCOUNTS, 0);
    const promoted = await cluster.killMaster(await cluster.masterOf(key));
    assert.equal(await cluster.masterOf(key), promoted);
    const want = expected([batch]);
    assert.deepEqual(await actual(redis, want.keys()), want);

    // Replicas stopped (SIGSTOP) cannot acknowledge: every call's WAIT comes short, and the
    // writes stand on the masters.
    const replicas = (await cluster.topology()).filter((n) => n.role === "replica" && !n.failed);
    assert.ok(replicas.length >= 2, `${replicas.length} replicas`);
    const pids = await Promise.all(replicas.map(async (n) => {
      const info = await cluster.cli(n.port, "INFO", "server");
      return Number(/process_id:(\d+)/.exec(info)![1]);
    }));
    const more = Array.from({ length: 50 }, (_, i) => entry(0, 200 + i));
    let stalled;
    for (const pid of pids) Deno.kill(pid, "SIGSTOP");
    try {
      stalled = await writeBySlot(redis, "0", more, more.at(-1)!.id, {
        waitReplicas: 1,
        waitMs: 200,
      });
    } finally {
      for (const pid of pids) Deno.kill(pid, "SIGCONT");
    }
    // The two masters whose replicas stopped come short; the one the failure left without a
    // replica has none to wait for.
    assert.deepEqual([stalled.calls, stalled.short, stalled.alone], [3, 2, 1]);
    const all = expected([batch, more]);
    assert.deepEqual(await actual(redis, all.keys()), all);
  } finally {
    redis.disconnect();
  }
});

Deno.test("on a Redis Cluster, a WAIT on a connection made after the write's reply does not count", async () => {
  await using cluster = await startRedisCluster();
  const redis = await cluster.connect();
  // A connection of its own to a master, which connects again when it is closed (the
  // cluster client's own end instead, and are made anew).
  const master = (redis as unknown as { nodes(role: string): Redis[] }).nodes("master")[0];
  const node = master.duplicate({ retryStrategy: () => 50 });
  try {
    const mine = (await node.cluster("NODES") as string).split("\n")
      .find((l) => l.includes("myself"))!.split(" ")[8];
    const key = `x:{${slotTag(Number(mine.split("-")[0]))}}`;
    // Written, and on a replica once it is in sync.
    let replicated = "short";
    for (let k = 0; replicated !== "ok" && k < 40; k++) {
      await node.set(key, String(k));
      replicated = await waitForReplicas(node, 1, 500, node.stream);
      if (replicated !== "ok") await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal(replicated, "ok");
    // The connection is made again between the write's reply and WAIT: the new one has
    // written nothing, and its WAIT would be answered at once.
    await node.set(key, "again");
    const before = node.stream;
    const id = await node.client("ID");
    await master.call("CLIENT", "KILL", "ID", String(id));
    for (let k = 0; k < 100 && (node.stream === before || node.status !== "ready"); k++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.notEqual(node.stream, before, "connected again");
    assert.equal(await waitForReplicas(node, 1, 500, before), "short");
    assert.equal(await waitForReplicas(node, 1, 500, node.stream), "ok");
  } finally {
    node.disconnect();
    redis.disconnect();
  }
});
