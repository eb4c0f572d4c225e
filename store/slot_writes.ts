/**
 * Writes of a batch of stream entries that land in many hash slots, each applied exactly
 * once, for a Redis Cluster where a call may only touch keys its node serves: one call per
 * master (scripts/slot_writes.lua; one call in all on a single server), all sent at once,
 * each atomic on its node. A slot keeps, per stream partition, a watermark: the last entry
 * whose writes it holds (`sw:{<tag>}`, the tag one of that slot's own, so it moves with the
 * slot on a reshard). A batch sent again after a stop between two calls, or cut at other
 * entries, skips in each slot the entries already applied there. This holds as long as one
 * writer at a time sends a partition's entries, in order (the indexer's lease), and an
 * entry sent again carries the same writes.
 *
 * A call reads every key it writes, and every watermark, before its first write, and
 * writes a set's members so that no key it empties is written again: a node refuses a key
 * of a slot it does not serve (moved, or moving and not held there: moved already, or not
 * made yet), so a call that reaches one stops with nothing written, and the batch is sent
 * again once the client knows where the slot went; a call that would make a key in a slot
 * being moved is refused until the move ends. Within a call, a set's or sorted set's member
 * gets its last write only.
 *
 * This is the second round of the apply on a Cluster as store/layout.ts lays it out: the
 * writes that land outside the slot where an operation is decided (counterparts' logs,
 * who blocks whom, the shared sets).
 * @module
 */
import { Buffer } from "node:buffer";
import { keySlot, slotTag } from "@bsky/shared/cluster";
import { errorMessage } from "@bsky/shared/errors";
import { isCluster, type Redis, type RedisClient } from "@bsky/shared/redis";
import { storeKeys } from "./keys.ts";
import { crossSlotScript, defineScript } from "./lua.ts";
import slotWritesSource from "./scripts/slot_writes.lua" with { type: "text" };

const slotWritesLua = crossSlotScript(slotWritesSource);

/** One write, to one key. */
export type SlotWrite =
  /** APPEND; `expireAt` (whole seconds) is set when the key is made, by its first append. */
  | { op: "append"; key: string; data: Uint8Array | string; expireAt?: number }
  | { op: "zadd"; key: string; score: number; member: string }
  | { op: "zrem"; key: string; member: string }
  | { op: "sadd"; key: string; member: string }
  | { op: "srem"; key: string; member: string }
  | { op: "hincrby"; key: string; field: string; by: number }
  /** SET that keeps the key's expiry, of a key that is there; a key's last one counts. */
  | { op: "set"; key: string; value: string };

/** The writes of one stream entry. */
export interface EntryWrites {
  /** The entry's stream id ("<ms>-<seq>"). */
  id: string;
  writes: readonly SlotWrite[];
}

/** What the calls of writeBySlot() did. */
export interface SlotWriteResult {
  /** Calls made: one per node the batch writes to. */
  calls: number;
  /** Slots written to. */
  slots: number;
  applied: number;
  /** Writes of entries a slot held already. */
  skipped: number;
  /** Calls whose WAIT saw fewer replicas acknowledge than asked (see SlotWriteOptions). */
  short: number;
  /** Calls to a master that had no replica to wait for (one failed over, say). */
  alone: number;
}

export interface SlotWriteOptions {
  /**
   * Replicas each call's writes must reach (WAIT, on the call's own connection, right after
   * it), so that what a batch wrote survives its master's failure: 0 (the default) for none.
   * A call whose WAIT comes short still counts as written, and is counted in `short`; one
   * to a master with no replica attached (a failover could not lose it: there is none to
   * promote, and one that attaches later copies the master whole) in `alone` instead.
   */
  waitReplicas?: number;
  /** How long WAIT waits (whole ms, at least 1); 500 by default. */
  waitMs?: number;
}

const OP_CODE: Record<SlotWrite["op"], string> = {
  append: "a",
  zadd: "z",
  zrem: "r",
  sadd: "s",
  srem: "t",
  hincrby: "h",
  set: "v",
};

type Arg = string | number | Buffer;

/** The two arguments of a write, as the script reads them; throws on a bad number. */
function argsOf(w: SlotWrite): [Arg, Arg] {
  switch (w.op) {
    case "append":
      if (w.expireAt !== undefined && !(Number.isSafeInteger(w.expireAt) && w.expireAt > 0)) {
        throw new RangeError(`Not an expiry (whole seconds): ${w.expireAt}`);
      }
      return [
        typeof w.data === "string"
          ? w.data
          : Buffer.from(w.data.buffer, w.data.byteOffset, w.data.byteLength),
        w.expireAt ?? "",
      ];
    case "zadd":
      if (!Number.isFinite(w.score)) throw new RangeError(`Not a score: ${w.score}`);
      return [w.score, w.member];
    case "hincrby":
      if (!Number.isSafeInteger(w.by)) throw new RangeError(`Not an increment: ${w.by}`);
      return [w.field, w.by];
    case "set":
      return [w.value, ""];
    default:
      return [w.member, ""];
  }
}

/** A stream entry id as Redis gives them: decimal parts without leading zeros. */
export const STREAM_ID = /^(0|[1-9]\d*)-(0|[1-9]\d*)$/;

/** Whether stream id `a` comes after `b` (parts compared as numbers of any size). */
export function after(a: string, b: string): boolean {
  const [am, as] = a.split("-"), [bm, bs] = b.split("-");
  const greater = (x: string, y: string) => x.length !== y.length ? x.length > y.length : x > y;
  return am !== bm ? greater(am, bm) : greater(as, bs);
}

/** One slot's part of a call: its keys and its entries' writes. */
interface SlotPart {
  watermarks: string;
  keys: string[];
  index: Map<string, number>;
  /** Per entry with writes here: its id, then its writes' arguments. */
  entries: { id: string; args: Arg[]; count: number }[];
}

type Runner = { slotWrites(args: Arg[]): Promise<[number, number]> };

/** How a call's WAIT came out: every replica asked for, fewer, or none there to ask. */
export type Replicated = "ok" | "short" | "alone";

/**
 * WAIT for `replicas` on the connection that just wrote (another connection has written
 * nothing, and would be answered at once: `since`, the client's stream when the write's reply
 * came, tells a reconnection in between, which counts as "short"). Fewer acknowledged in
 * `ms`: "short" while the
 * master has a replica that is not failed (lagging, or copying the master whole: one that
 * could still be promoted), "alone" when the cluster knows it none (CLUSTER REPLICAS; on a
 * server outside a cluster, ROLE's replicas).
 */
export async function waitForReplicas(
  client: Redis,
  replicas: number,
  ms: number,
  since?: unknown,
): Promise<Replicated> {
  if (replicas <= 0) return "ok";
  const acknowledged = Number(await client.wait(replicas, ms));
  // WAIT on a connection made after the write's reply has written nothing to wait for: the
  // write is not known to be on a replica (the batch is sent again, and writes again).
  if (since !== undefined && client.stream !== since) return "short";
  if (acknowledged >= replicas) return "ok";
  let live: number;
  try {
    const id = String(await client.call("CLUSTER", "MYID"));
    const lines = await client.call("CLUSTER", "REPLICAS", id) as string[];
    // Gone only when the cluster agrees (fail, not this node's own doubt, fail?) or has no
    // address for it: a replica this master merely cannot reach may still be promoted.
    live = lines.filter((line) => !/(^|,)(fail|noaddr)(,|$)/.test(line.split(" ")[2] ?? "")).length;
  } catch {
    const role = await client.call("ROLE") as [string, number, unknown[]];
    live = role[0] === "master" ? role[2].length : 1;
  }
  return live === 0 ? "alone" : "short";
}

/**
 * One node's call, then WAIT on the same connection when asked: its reply, and how WAIT
 * came out.
 */
async function callNode(
  client: Redis,
  args: Arg[],
  { waitReplicas = 0, waitMs = 500 }: SlotWriteOptions,
): Promise<{ reply: [number, number]; replicated: Replicated }> {
  defineScript(client, "slotWrites", slotWritesLua);
  const reply = await (client as unknown as Runner).slotWrites(args);
  // Sent after the script's reply, on the same connection: WAIT then covers its writes
  // whichever way the client ran it (a script the node did not have is sent again whole).
  // The connection the reply came on (no other event runs before this line).
  const stream = client.stream;
  return { reply, replicated: await waitForReplicas(client, waitReplicas, waitMs, stream) };
}

/** The client that runs a call for `slot`, and its name ("" on a single server). */
export function nodeFor(
  redis: RedisClient,
  slot: number,
): { name: string; client: Redis | undefined } {
  if (!isCluster(redis)) return { name: "", client: redis };
  const name = redis.slots[slot]?.[0] ?? "";
  const client = redis.nodes("master").find((n) => `${n.options.host}:${n.options.port}` === name);
  return { name, client };
}

/**
 * Applies the writes of `entries` (a partition's entries in order, ending at `last`), one
 * call per node (each followed by WAIT with `waitReplicas`); in each slot, every write of
 * an entry at or below the slot's watermark for the partition is skipped, and the
 * watermark moves to `last`. Throws on any call that failed (the others stand; on a
 * Cluster the client then reads the slots' masters again): send the batch again.
 */
export async function writeBySlot(
  redis: RedisClient,
  partition: string,
  entries: readonly EntryWrites[],
  last: string,
  options: SlotWriteOptions = {},
): Promise<SlotWriteResult> {
  if (!STREAM_ID.test(last)) throw new TypeError(`Not a stream entry id: "${last}"`);
  const { waitReplicas = 0, waitMs = 500 } = options;
  if (!Number.isSafeInteger(waitReplicas) || waitReplicas < 0) {
    throw new RangeError(`Not a number of replicas: ${waitReplicas}`);
  }
  // WAIT 0 would wait for ever.
  if (!Number.isSafeInteger(waitMs) || waitMs < 1) {
    throw new RangeError(`Not a time to wait (whole ms, at least 1): ${waitMs}`);
  }
  const slots = new Map<number, SlotPart>();
  const ids: string[] = [];
  const numbers = new Map<string, number>();
  let previous: string | undefined;
  for (const entry of entries) {
    if (!STREAM_ID.test(entry.id)) throw new TypeError(`Not a stream entry id: "${entry.id}"`);
    if ((previous !== undefined && !after(entry.id, previous)) || after(entry.id, last)) {
      throw new RangeError(
        `Entries must come in order, up to the batch's last (${last}): ${entry.id} does not`,
      );
    }
    previous = entry.id;
    let written = false;
    for (const w of entry.writes) {
      const args = argsOf(w);
      // An empty append writes nothing.
      if (w.op === "append" && w.data.length === 0) continue;
      const slot = keySlot(w.key);
      let part = slots.get(slot);
      if (!part) {
        part = {
          watermarks: storeKeys.slotWatermarks(slotTag(slot)),
          keys: [],
          index: new Map(),
          entries: [],
        };
        slots.set(slot, part);
      }
      let here = part.entries.at(-1);
      if (here?.id !== entry.id) {
        here = { id: entry.id, args: [], count: 0 };
        part.entries.push(here);
      }
      let k = part.index.get(w.key);
      if (k === undefined) {
        part.keys.push(w.key);
        k = part.keys.length;
        part.index.set(w.key, k);
      }
      here.args.push(OP_CODE[w.op], k, ...args);
      here.count++;
      written = true;
    }
    // The calls name entries by their number among those with writes (and the batch's last).
    if (written) numbers.set(entry.id, ids.push(entry.id));
  }
  if (ids.at(-1) !== last) ids.push(last);

  // One call per node, its slots one after another.
  const calls = new Map<string, { client: Redis | undefined; args: Arg[]; slots: number }>();
  for (const [slot, part] of slots) {
    const { name, client } = nodeFor(redis, slot);
    let call = calls.get(name);
    if (!call) {
      call = { client, args: [partition, ids.length, ...ids], slots: 0 };
      calls.set(name, call);
    }
    call.slots++;
    call.args.push(part.watermarks, part.keys.length, ...part.keys, part.entries.length);
    for (const e of part.entries) call.args.push(numbers.get(e.id)!, e.count, ...e.args);
  }
  const replies = await Promise.allSettled([...calls].map(([name, call]) => {
    if (!call.client) {
      return Promise.reject(
        new Error(`No connection to the master of ${call.slots} slots (${name || "unknown"})`),
      );
    }
    return callNode(call.client, call.args, options);
  }));
  const result: SlotWriteResult = {
    calls: calls.size,
    slots: slots.size,
    applied: 0,
    skipped: 0,
    short: 0,
    alone: 0,
  };
  const failed: unknown[] = [];
  for (const r of replies) {
    if (r.status === "rejected") failed.push(r.reason);
    else {
      result.applied += Number(r.value.reply[0]);
      result.skipped += Number(r.value.reply[1]);
      if (r.value.replicated === "short") result.short++;
      if (r.value.replicated === "alone") result.alone++;
    }
  }
  if (failed.length > 0) {
    // A slot moved, or a master failed over: where the slots are is read again.
    if (isCluster(redis)) await new Promise<void>((r) => redis.refreshSlotsCache(() => r()));
    throw new AggregateError(
      failed,
      `${failed.length} of ${calls.size} nodes' writes failed (${
        errorMessage(failed[0])
      }); the batch must be sent again`,
    );
  }
  return result;
}
