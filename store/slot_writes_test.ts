/**
 * Writes by slot (slot_writes.ts) on one redis-server: each slot applies an entry's writes
 * once, whether the batch comes again whole, after a stop that left only some slots'
 * writes, or cut at other entries; partitions keep their own watermarks; entry ids compare
 * as numbers; a call is checked whole before its first write.
 */
import assert from "node:assert/strict";
import { keySlot, slotTag } from "@bsky/shared/cluster";
import type { Redis } from "@bsky/shared/redis";
import { withRedis } from "@bsky/shared/testing/redis_server";
import { storeKeys } from "./keys.ts";
import { type EntryWrites, type SlotWrite, writeBySlot } from "./slot_writes.ts";

const FAR = 4_000_000_000;

/** Entry i of a batch: an append to two accounts' logs, a member of a sorted set and of a set. */
function entry(i: number, ms = 1000): EntryWrites {
  const a = i % 7, b = 100 + (i % 5);
  return {
    id: `${ms + i}-0`,
    writes: [
      { op: "append", key: storeKeys.log(a, 1), data: `<${i}>`, expireAt: FAR },
      { op: "append", key: storeKeys.log(b, 1), data: new TextEncoder().encode(`[${i}]`) },
      { op: "zadd", key: storeKeys.blockedBy(b), score: i, member: String(a) },
      { op: "hincrby", key: storeKeys.recordBuckets, field: "n", by: 1 },
      ...(i % 3 === 0 ? [{ op: "sadd", key: storeKeys.hidden, member: String(i) } as const] : []),
    ],
  };
}

/** Every key the writes of `entries` touch, with what each holds. */
async function contents(redis: Redis, entries: readonly EntryWrites[]) {
  const keys = [...new Set(entries.flatMap((e) => e.writes.map((w) => w.key)))].sort();
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    const type = await redis.type(key);
    out[key] = type === "string"
      ? await redis.get(key)
      : type === "zset"
      ? await redis.zrange(key, "0", "-1", "WITHSCORES")
      : type === "set"
      ? (await redis.smembers(key)).sort()
      : type === "hash"
      ? await redis.hgetall(key)
      : type;
  }
  return out;
}

/**
 * Only the writes that land in `slots`: what a batch stopped after those slots' calls left
 * (on a Cluster, those of the nodes that serve them).
 */
const onlySlots = (entries: readonly EntryWrites[], slots: Set<number>): EntryWrites[] =>
  entries.map((e) => ({ id: e.id, writes: e.writes.filter((w) => slots.has(keySlot(w.key))) }));

Deno.test("each slot applies an entry's writes once, whole batch again or stopped between slots", async () => {
  const batch = Array.from({ length: 40 }, (_, i) => entry(i));
  const last = batch.at(-1)!.id;
  let expected: Record<string, unknown> = {};
  await withRedis(async (once) => {
    const r = await writeBySlot(once, "3", batch, last);
    const writes = batch.reduce((n, e) => n + e.writes.length, 0);
    assert.equal(r.calls, 1, "one call on a single server");
    assert.deepEqual(r, {
      calls: 1,
      slots: r.slots,
      applied: writes,
      skipped: 0,
      short: 0,
      alone: 0,
    });
    expected = await contents(once, batch);
    assert.equal(expected[storeKeys.log(0, 1)], "<0><7><14><21><28><35>", "appends in entry order");
    assert.equal(expected[storeKeys.log(100, 1)], "[0][5][10][15][20][25][30][35]");
    assert.deepEqual(expected[storeKeys.recordBuckets], { n: "40" });

    // The whole batch again: nothing changes.
    const again = await writeBySlot(once, "3", batch, last);
    assert.deepEqual(again, {
      calls: 1,
      slots: r.slots,
      applied: 0,
      skipped: writes,
      short: 0,
      alone: 0,
    });
    assert.deepEqual(await contents(once, batch), expected);

    // Asked to wait for a replica, which this server has none of: the writes stand, and the
    // call is counted as one to a master alone (no failover could lose it).
    const key = storeKeys.log(999, 1);
    const waited = await writeBySlot(
      once,
      "9",
      [{ id: "1-0", writes: [{ op: "append", key, data: "w" }] }],
      "1-0",
      { waitReplicas: 1, waitMs: 20 },
    );
    assert.deepEqual(waited, { calls: 1, slots: 1, applied: 1, skipped: 0, short: 0, alone: 1 });
    assert.equal(await once.get(key), "w");
  });

  await withRedis(async (redis) => {
    // A stop after some slots' calls, then the batch again, twice over.
    const slots = [...new Set(batch.flatMap((e) => e.writes.map((w) => keySlot(w.key))))];
    assert.ok(slots.length >= 10, `${slots.length} slots`);
    await writeBySlot(
      redis,
      "3",
      onlySlots(batch, new Set(slots.filter((_, k) => k % 3 === 0))),
      last,
    );
    await writeBySlot(
      redis,
      "3",
      onlySlots(batch, new Set(slots.filter((_, k) => k % 2 === 0))),
      last,
    );
    const r = await writeBySlot(redis, "3", batch, last);
    assert.ok(r.applied > 0 && r.skipped > 0, JSON.stringify(r));
    assert.deepEqual(await contents(redis, batch), expected);
  });
});

Deno.test("a batch cut at other entries applies each entry once in each slot", async () => {
  const all = Array.from({ length: 30 }, (_, i) => entry(i));
  await withRedis(async (once) => {
    await writeBySlot(once, "0", all, all.at(-1)!.id);
    const expected = await contents(once, all);
    await withRedis(async (redis) => {
      // Entries 0-11, then 5-19 (the first batch again with more), then 15-29, then 0-29,
      // then 0-19 and 0-11 (a batch that ends before the watermarks), then 12-29.
      for (const [from, to] of [[0, 12], [5, 20], [15, 30], [0, 30], [0, 20], [0, 12], [12, 30]]) {
        const part = all.slice(from, to);
        await writeBySlot(redis, "0", part, part.at(-1)!.id);
      }
      assert.deepEqual(await contents(redis, all), expected);
    });
  });
});

Deno.test("partitions keep their own watermarks, and entry ids compare as numbers", async () => {
  await withRedis(async (redis) => {
    const key = storeKeys.log(1, 1);
    const write = (data: string): SlotWrite[] => [{ op: "append", key, data }];
    // "999-9" sorts after "1000-0" as text, not as a stream id.
    await writeBySlot(redis, "p1", [{ id: "999-9", writes: write("a") }], "999-9");
    await writeBySlot(redis, "p1", [{ id: "1000-0", writes: write("b") }], "1000-0");
    await writeBySlot(redis, "p1", [{ id: "1000-0", writes: write("b") }], "1000-0");
    // Another partition's entries, with older ids, are its own.
    await writeBySlot(redis, "p2", [{ id: "5-0", writes: write("c") }], "5-0");
    // Same ms, higher seq: fresh.
    await writeBySlot(redis, "p1", [{ id: "1000-1", writes: write("d") }], "1000-1");
    assert.equal(await redis.get(key), "abcd");
    // Past 2^53, where doubles would call the two times equal.
    await writeBySlot(
      redis,
      "p3",
      [{ id: "9007199254740992-5", writes: write("e") }],
      "9007199254740992-5",
    );
    await writeBySlot(
      redis,
      "p3",
      [{ id: "9007199254740993-0", writes: write("f") }],
      "9007199254740993-0",
    );
    assert.equal(await redis.get(key), "abcdef");
    const watermarks = storeKeys.slotWatermarks(slotTag(keySlot(key)));
    assert.equal(keySlot(watermarks), keySlot(key), "the watermarks are in the key's slot");
    assert.deepEqual(await redis.hgetall(watermarks), {
      p1: "1000-1",
      p2: "5-0",
      p3: "9007199254740993-0",
    });
  });
});

Deno.test("an append sets the expiry only when it makes the key; other writes; bad ids refused", async () => {
  await withRedis(async (redis) => {
    const made = storeKeys.log(1, 1), kept = storeKeys.log(2, 1);
    await redis.set(kept, "x", "EX", 1000);
    await writeBySlot(redis, "0", [{
      id: "1-0",
      writes: [
        { op: "append", key: made, data: "a", expireAt: FAR },
        { op: "append", key: kept, data: "b", expireAt: FAR },
        { op: "sadd", key: storeKeys.hidden, member: "7" },
        { op: "sadd", key: storeKeys.hidden, member: "8" },
        { op: "zadd", key: storeKeys.handles, score: 0, member: "a\x007" },
      ],
    }, {
      id: "2-0",
      writes: [
        { op: "srem", key: storeKeys.hidden, member: "7" },
        { op: "zrem", key: storeKeys.handles, member: "a\x007" },
        { op: "append", key: made, data: "c", expireAt: FAR + 5 },
      ],
    }], "2-0");
    assert.equal(await redis.expiretime(made), FAR, "the first append's expiry");
    assert.ok((await redis.ttl(kept)) <= 1000, "the key's own TTL stays");
    assert.equal(await redis.get(kept), "xb");
    assert.equal(await redis.get(made), "ac");
    assert.deepEqual(await redis.smembers(storeKeys.hidden), ["8"]);
    assert.equal(await redis.zcard(storeKeys.handles), 0);

    // The expiry comes from a key's first append in a call, none when it gives none; an
    // empty append writes nothing.
    const plain = storeKeys.log(3, 1), empty = storeKeys.log(4, 1);
    await writeBySlot(redis, "0", [{
      id: "2-1",
      writes: [
        { op: "append", key: plain, data: "p" },
        { op: "append", key: plain, data: "q", expireAt: FAR },
        { op: "append", key: empty, data: "", expireAt: FAR },
        { op: "append", key: empty, data: new Uint8Array(0) },
      ],
    }], "2-1");
    assert.equal(await redis.get(plain), "pq");

    // A member's last write counts, within an entry and across entries: added, taken out and
    // added again; taken out for good; a set emptied, one emptied and filled again.
    const zset = storeKeys.blocking(5), gone = storeKeys.graph(5), back = storeKeys.graph(6);
    await redis.sadd(gone, "only");
    await redis.sadd(back, "only");
    await writeBySlot(redis, "0", [{
      id: "3-0",
      writes: [
        { op: "zadd", key: zset, score: 1, member: "m" },
        { op: "zadd", key: zset, score: 5, member: "n" },
        { op: "zrem", key: zset, member: "m" },
        { op: "srem", key: gone, member: "only" },
        { op: "srem", key: back, member: "only" },
      ],
    }, {
      id: "3-1",
      writes: [
        { op: "zadd", key: zset, score: 2, member: "m" },
        { op: "zrem", key: zset, member: "n" },
        { op: "sadd", key: back, member: "only" },
      ],
    }], "3-1");
    assert.deepEqual(await redis.zrange(zset, "0", "-1", "WITHSCORES"), ["m", "2"]);
    assert.equal(await redis.exists(gone), 0);
    assert.deepEqual(await redis.smembers(back), ["only"]);
    assert.equal(await redis.ttl(plain), -1);
    assert.equal(await redis.exists(empty), 0);

    const before = await redis.dbsize();
    await assert.rejects(
      writeBySlot(
        redis,
        "0",
        [{ id: "3", writes: [{ op: "sadd", key: made, member: "1" }] }],
        "3-0",
      ),
      /Not a stream entry id: "3"/,
    );
    await assert.rejects(writeBySlot(redis, "0", [], "x-1"), /Not a stream entry id/);
    assert.equal(await redis.dbsize(), before, "nothing written");

    // The script checks a whole call before it writes: a bad write after a good one leaves
    // nothing (the command is the one writeBySlot() defined above). ARGV: the partition,
    // the batch's entry ids, then the slot's watermarks, its keys, and its entries (by
    // number) with their writes.
    const set = storeKeys.graph(9), marks = storeKeys.slotWatermarks(slotTag(keySlot(set)));
    const script = redis as unknown as { slotWrites(a: (string | number)[]): Promise<unknown> };
    const call = (ids: string[], ...writes: (string | number)[]) =>
      script.slotWrites(["0", ids.length, ...ids, marks, 1, set, ...writes]);
    const good = [1, 1, "s", 1, "m", ""];
    for (
      const [ids, writes, error] of [
        [["9-0", "9-1"], [2, ...good, 2, 1, "?", 1, "m", ""], /Unknown write "\?"/],
        [["9-0"], [1, 1, 2, "s", 1, "m", ""], /The writes end early/],
        [["9-0", "9-1"], [2, ...good, 2, 1, "z", 1, "nan", "m"], /Not a score/],
        [["9-0", "9-1"], [2, ...good, 2, 1, "h", 1, "f", "1.5"], /Not an increment/],
        [["9-0", "9-1"], [2, ...good, 2, 1, "a", 1, "x", "soon"], /Not an expiry/],
        [["9-0", "9-1"], [2, 2, 1, "s", 1, "m", "", ...good], /Entry number 1 is out of order/],
        [["9-0"], [1, 2, 1, "s", 1, "m", ""], /Entry number 2 is out of order/],
        [["9-1", "9-0"], [1, ...good], /Entry 9-0 is out of order/],
        [["09-0"], [1, ...good], /Not a stream entry id/],
        [["9-0"], [1, 1, 1, "s", 2, "m", ""], /names no key/],
      ] as [string[], (string | number)[], RegExp][]
    ) {
      await assert.rejects(call(ids, ...writes), error);
    }
    // The same checks in TypeScript, before anything is sent.
    const one = (id: string, w: SlotWrite) => [{ id, writes: [w] }];
    for (
      const [entries, last, error] of [
        [
          [
            ...one("2-0", { op: "sadd", key: set, member: "m" }),
            ...one("1-0", { op: "sadd", key: set, member: "m" }),
          ],
          "2-0",
          /must come in order/,
        ],
        [one("3-0", { op: "sadd", key: set, member: "m" }), "2-0", /must come in order/],
        [one("1-0", { op: "zadd", key: set, score: NaN, member: "m" }), "1-0", /Not a score/],
        [one("1-0", { op: "hincrby", key: set, field: "f", by: 0.5 }), "1-0", /Not an increment/],
        [one("1-0", { op: "append", key: set, data: "x", expireAt: 1.5 }), "1-0", /Not an expiry/],
        [one("01-0", { op: "sadd", key: set, member: "m" }), "1-0", /Not a stream entry id/],
      ] as [EntryWrites[], string, RegExp][]
    ) {
      await assert.rejects(writeBySlot(redis, "0", entries, last), error);
    }
    const ok = one("1-0", { op: "sadd", key: set, member: "m" });
    await assert.rejects(writeBySlot(redis, "0", ok, "1-0", { waitMs: 0 }), /Not a time to wait/);
    await assert.rejects(
      writeBySlot(redis, "0", ok, "1-0", { waitReplicas: 0.5 }),
      /Not a number of replicas/,
    );
    // The extremes TypeScript lets through, the script takes too.
    const hash = storeKeys.settings;
    await writeBySlot(redis, "7", [{
      id: "1-0",
      writes: [
        { op: "hincrby", key: hash, field: "low", by: Number.MIN_SAFE_INTEGER },
        { op: "hincrby", key: hash, field: "high", by: Number.MAX_SAFE_INTEGER },
        { op: "append", key: storeKeys.log(8, 1), data: "x", expireAt: Number.MAX_SAFE_INTEGER },
      ],
    }], "1-0");
    assert.deepEqual(await redis.hgetall(hash), {
      low: String(Number.MIN_SAFE_INTEGER),
      high: String(Number.MAX_SAFE_INTEGER),
    });
    assert.equal(await redis.exists(set, marks), 0, "nothing written");
  });
});
