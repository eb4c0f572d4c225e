/**
 * Writes of a batch of stream entries that land in many hash slots, each applied exactly
 * once, for a Redis Cluster where no call may touch keys of two slots: one call per slot
 * (scripts/slot_writes.lua), all sent at once, each atomic on its node. A slot keeps, per
 * stream partition, a watermark: the last entry whose writes it holds (`sw:{<tag>}`, the
 * tag one of that slot's own, so it moves with the slot on a reshard). A batch sent again
 * after a stop between two calls, or cut at other entries, skips in each slot the entries
 * already applied there. This holds as long as one writer at a time sends a partition's
 * entries, in order (the indexer's lease), and a batch sent again carries the same writes
 * for the same entries.
 *
 * This is the second round of the apply on a Cluster as store/layout.ts lays it out: the
 * writes that land outside the slot where an operation is decided (counterparts' logs,
 * who blocks whom, the shared sets).
 * @module
 */
import { Buffer } from "node:buffer";
import { keySlot, slotTag } from "@bsky/shared/cluster";
import type { RedisClient } from "@bsky/shared/redis";
import { storeKeys } from "./keys.ts";
import slotWritesLua from "./scripts/slot_writes.lua" with { type: "text" };

/** One write, to one key. */
export type SlotWrite =
  /** APPEND; `expireAt` (s) is set when the append makes the key. */
  | { op: "append"; key: string; data: Uint8Array | string; expireAt?: number }
  | { op: "zadd"; key: string; score: number; member: string }
  | { op: "zrem"; key: string; member: string }
  | { op: "sadd"; key: string; member: string }
  | { op: "srem"; key: string; member: string }
  | { op: "hincrby"; key: string; field: string; by: number };

/** The writes of one stream entry. */
export interface EntryWrites {
  /** The entry's stream id ("<ms>-<seq>"). */
  id: string;
  writes: readonly SlotWrite[];
}

/** What the calls of writeBySlot() did. */
export interface SlotWriteResult {
  /** Calls made: one per slot the batch writes to. */
  calls: number;
  applied: number;
  /** Writes of entries a slot held already. */
  skipped: number;
}

const OP_CODE: Record<SlotWrite["op"], string> = {
  append: "a",
  zadd: "z",
  zrem: "r",
  sadd: "s",
  srem: "t",
  hincrby: "h",
};

type Arg = string | number | Buffer;

/** The two arguments of a write, as the script reads them. */
function argsOf(w: SlotWrite): [Arg, Arg] {
  switch (w.op) {
    case "append":
      return [
        typeof w.data === "string"
          ? w.data
          : Buffer.from(w.data.buffer, w.data.byteOffset, w.data.byteLength),
        w.expireAt ?? "",
      ];
    case "zadd":
      return [w.score, w.member];
    case "hincrby":
      return [w.field, w.by];
    default:
      return [w.member, ""];
  }
}

const STREAM_ID = /^\d+-\d+$/;

/** One slot's call: its keys (the watermarks first) and its arguments after the first two. */
interface SlotCall {
  keys: string[];
  index: Map<string, number>;
  args: Arg[];
}

/**
 * Applies the writes of `entries` (a partition's entries in order, ending at `last`), one
 * call per slot; every write of an entry at or below a slot's watermark for the partition
 * is skipped there, and each slot's watermark moves to `last`. Throws on any call that
 * failed (the others stand): send the batch again.
 */
export async function writeBySlot(
  redis: RedisClient,
  partition: string,
  entries: readonly EntryWrites[],
  last: string,
): Promise<SlotWriteResult> {
  if (!STREAM_ID.test(last)) throw new TypeError(`Not a stream entry id: "${last}"`);
  const calls = new Map<number, SlotCall>();
  for (const entry of entries) {
    if (!STREAM_ID.test(entry.id)) throw new TypeError(`Not a stream entry id: "${entry.id}"`);
    // Per slot, where this entry's count of writes goes.
    const counts = new Map<number, number>();
    for (const w of entry.writes) {
      const slot = keySlot(w.key);
      let call = calls.get(slot);
      if (!call) {
        const watermarks = storeKeys.slotWatermarks(slotTag(slot));
        call = { keys: [watermarks], index: new Map([[watermarks, 1]]), args: [] };
        calls.set(slot, call);
      }
      let at = counts.get(slot);
      if (at === undefined) {
        call.args.push(entry.id, 0);
        at = call.args.length - 1;
        counts.set(slot, at);
      }
      call.args[at] = (call.args[at] as number) + 1;
      let k = call.index.get(w.key);
      if (k === undefined) {
        call.keys.push(w.key);
        k = call.keys.length;
        call.index.set(w.key, k);
      }
      call.args.push(OP_CODE[w.op], k, ...argsOf(w));
    }
  }
  if (!("slotWrites" in redis)) redis.defineCommand("slotWrites", { lua: slotWritesLua });
  const run = (redis as unknown as {
    slotWrites(n: number, ...a: Arg[]): Promise<[number, number]>;
  }).slotWrites.bind(redis);
  const replies = await Promise.allSettled(
    [...calls.values()].map((c) => run(c.keys.length, ...c.keys, partition, last, ...c.args)),
  );
  const result: SlotWriteResult = { calls: calls.size, applied: 0, skipped: 0 };
  const failed: unknown[] = [];
  for (const r of replies) {
    if (r.status === "rejected") failed.push(r.reason);
    else {
      result.applied += Number(r.value[0]);
      result.skipped += Number(r.value[1]);
    }
  }
  if (failed.length > 0) {
    throw new AggregateError(
      failed,
      `${failed.length} of ${calls.size} slots' writes failed; the batch must be sent again`,
    );
  }
  return result;
}
