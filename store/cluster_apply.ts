/**
 * The apply on a Redis Cluster, where one call may only touch the keys of its node, in two
 * rounds (store/layout.ts lays them out):
 *
 * 1. One call per master (scripts/apply_cluster_run.lua) applies the operations of the
 *    batch's authors whose slots it serves, and writes what lands there: an author's log,
 *    follows, blocks, profile and records are all in its slot. What lands elsewhere
 *    (counterparts' logs, who blocks whom, the shared sets) comes back per entry.
 * 2. Those writes go to their slots (writeBySlot, slot_writes.ts).
 *
 * Then the entries are acknowledged. Each round applies an entry once per slot, through
 * per-slot watermarks: a batch sent again after a stop anywhere (between two calls of a
 * round, between the rounds, before the acknowledgement), whole or cut at other entries,
 * skips in each slot what it holds, and the first round returns again what it returned
 * then, so that the second is the same. This holds with one writer per partition at a time
 * (the indexer's leases) and the partition's entries in order.
 *
 * What the first round cannot read (keys of other slots) is read before it: whether an
 * account's block of another is recorded with that other (`bi:{S}`), opt codes, and the
 * record memory's bucket counts (spans opened first, open_spans.lua). Those keys' writes
 * come from the same authors' operations, so nothing else changes them meanwhile.
 *
 * The ids' epoch is checked before each batch instead of by the first round (no call there
 * reaches `{ids}`), and ids are reclaimed behind a fence: a batch says it reads ids before
 * it does, unless the fence is up (FencedError), and that it is done after its
 * acknowledgement (store/reclaim.ts). The backfill applies its parts through applyEntry().
 * @module
 */
import type { Buffer } from "node:buffer";
import type { FirehoseEvent } from "@bsky/shared/events";
import { keySlot } from "@bsky/shared/cluster";
import { errorMessage } from "@bsky/shared/errors";
import { crossSlotPipeline, repliesOf } from "@bsky/shared/pipeline";
import { isCluster, type Redis, type RedisClient } from "@bsky/shared/redis";
import {
  type AckOptions,
  type Applier,
  type ApplyStats,
  type BatchApplier,
  FencedError,
  LeaseLostError,
} from "./apply.ts";
import { beginWriting, endWriting } from "./reclaim.ts";
import { APPLY_CLUSTER_SCRIPT, OPEN_SPANS_SCRIPT } from "./apply_script.ts";
import { HOUR_MS, storeKeys } from "./layout.ts";
import { defineScript } from "./lua.ts";
import { eventDids, eventOps } from "./operations.ts";
import { recordTag } from "./record_arg.ts";
import {
  after,
  type EntryWrites,
  nodeFor,
  type SlotWrite,
  type SlotWriteResult,
  STREAM_ID,
  waitForReplicas,
  writeBySlot,
} from "./slot_writes.ts";

/** A stream entry and its event. */
export interface ClusterEntry {
  id: string;
  event: FirehoseEvent;
}

export interface ClusterApplyOptions {
  /**
   * Replicas each call's writes must reach before the entries are acknowledged (WAIT on the
   * call's connection); a batch whose WAIT comes short throws (ReplicasBehindError) unless
   * `acceptShort`, and is sent again. A master with no replica attached is not waited for
   * (counted in `alone`): no failover could lose its writes.
   */
  waitReplicas?: number;
  /** How long each WAIT waits (ms). */
  waitMs?: number;
  /** Acknowledge a batch whose WAIT came short (for tests that count them). */
  acceptShort?: boolean;
}

/** Fewer replicas than asked acknowledged a batch's writes in time: it is not acknowledged. */
export class ReplicasBehindError extends Error {
  override name = "ReplicasBehindError";
  /** What the batch did so far (its calls were written: sending it again skips them). */
  stats?: ClusterApplyStats;
}

/** A batch as the indexer hands it over: prepared (its ids interned), then run. */
export interface ClusterBatch {
  partition: number;
  entries: ClusterEntry[];
  ack: ClusterAck;
}

export interface ClusterAck {
  stream: string;
  group: string;
  /** Every entry id to acknowledge (parked ones too), in order. */
  entryIds: string[];
  /** Checked before the batch starts: a writer that lost it stops. */
  lease?: { key: string; token: string };
  /**
   * What the batch said as its partition's writer when its ids were read (prepare():
   * reclaim.ts's beginWriting()), taken out once it is acknowledged, if no later batch of
   * the partition said otherwise since.
   */
  writer?: string;
}

/** What a batch did, with its calls. */
export interface ClusterApplyStats extends ApplyStats {
  /** Calls of the first round (one per master with authors of the batch). */
  firstCalls: number;
  second: SlotWriteResult;
  /** Calls of either round whose WAIT came short of the replicas asked for. */
  short: number;
  /** Calls of either round to a master with no replica attached (see SlotWriteResult). */
  alone: number;
}

type Arg = string | number | Uint8Array;
type Reply = [number, number, number, number, [Uint8Array, Uint8Array[]][]];
type Runner = {
  /** Replies as bytes: log entries are binary. */
  applyFirstRoundBuffer(...args: Arg[]): Promise<Reply>;
  openSpans(...args: (string | number)[]): Promise<number[]>;
};

/** What the first round of an entry given as operations must know first (applyEntry()). */
export interface EntryReads {
  /** Spans of the record memory it may remember records in, and those it looks in. */
  open?: Iterable<number>;
  read?: Iterable<number>;
  /** Who-blocks-whom members (key, member) it asks about. */
  members?: [string, string][];
}

/** A first round's calls to make: per author slot its entries, and what to read before. */
interface Plan {
  slots: Map<number, { tag: string; args: Arg[] }>;
  /** Spans of the record memory to open, and to read the bucket counts of. */
  open: Set<number>;
  read: Set<number>;
  /** Who-blocks-whom members (key, member) and opt codes to read. */
  members: [string, string][];
  codes: string[];
}

const newPlan = (): Plan => ({
  slots: new Map(),
  open: new Set(),
  read: new Set(),
  members: [],
  codes: [],
});

/** Adds an entry of `author`'s operations to its slot's part of the plan. */
function addEntry(plan: Plan, author: number, id: string, ops: readonly Arg[]) {
  const slot = keySlot(String(author));
  let part = plan.slots.get(slot);
  if (!part) plan.slots.set(slot, part = { tag: recordTag(author), args: [] });
  part.args.push(id, ops.length, ...ops);
}

const zeroStats = (): ClusterApplyStats => ({
  applied: 0,
  duplicate: 0,
  unmatched: 0,
  late: 0,
  firstCalls: 0,
  second: noWrites(),
  short: 0,
  alone: 0,
});

/** What a second round without writes did. */
const noWrites = (): SlotWriteResult => ({
  calls: 0,
  slots: 0,
  applied: 0,
  skipped: 0,
  short: 0,
  alone: 0,
});

/** A partition's name among the writers that read ids (reclaim.ts). */
const writerOf = (partition: number) => `p${partition}`;

/** Hours of a span of the record memory (scripts/apply_records.lua). */
export const SPAN_HOURS = 8;

/** The record memory's span of an instant (ms). */
export const spanOf = (time: number) => Math.floor(time / HOUR_MS / SPAN_HOURS);

/**
 * The spans the record memory looks in for a record of `span` (apply_records.lua's
 * find_record): that one and the ones before it that `memoryHours` reach.
 */
export function memorySpans(span: number, memoryHours: number): number[] {
  const out: number[] = [];
  for (let s = span - Math.ceil(memoryHours / SPAN_HOURS) - 1; s <= span; s++) out.push(s);
  return out;
}

const OP_OF: Record<string, SlotWrite["op"]> = {
  a: "append",
  z: "zadd",
  r: "zrem",
  s: "sadd",
  t: "srem",
  h: "hincrby",
  v: "set",
};

/** A reply's bytes as text (ioredis gives Buffers: their own decoding is the fastest). */
const text = (v: Uint8Array) => (v as Buffer).toString();

/** A write as the first round returned it (op, key, two arguments). */
function slotWrite(op: string, key: string, x: Uint8Array, y: string): SlotWrite {
  switch (OP_OF[op]) {
    case "append":
      return { op: "append", key, data: x, expireAt: y === "" ? undefined : Number(y) };
    case "zadd":
      return { op: "zadd", key, score: Number(text(x)), member: y };
    case "hincrby":
      return { op: "hincrby", key, field: text(x), by: Number(y) };
    case "set":
      return { op: "set", key, value: text(x) };
    case "zrem":
    case "srem":
    case "sadd":
      return { op: OP_OF[op], key, member: text(x) } as SlotWrite;
    default:
      throw new Error(`The first round returned an unknown write "${op}" for ${key}`);
  }
}

export class ClusterApplier implements BatchApplier<ClusterBatch> {
  /** Batches prepared: each says its own value as its partition's writer. */
  #batches = 0;

  constructor(
    readonly redis: RedisClient,
    readonly applier: Applier,
    readonly options: ClusterApplyOptions = {},
  ) {}

  /** The batch of the events (ack.eventIds their entries'), its ids interned. */
  async prepare(events: readonly FirehoseEvent[], ack: AckOptions): Promise<ClusterBatch> {
    const { partition, eventIds } = ack;
    if (partition === undefined || eventIds?.length !== events.length) {
      throw new TypeError("A Cluster's batch needs its partition and each event's entry id");
    }
    const dids = new Set<string>();
    for (const event of events) eventDids(event, dids);
    // Said before the ids are read, and not while ids are reclaimed (reclaim.ts); the
    // first round cannot check the ids' epoch: the cached ids are checked here.
    // Each batch its own value: the one before, done while this one applies, leaves it.
    const writer = `${ack.lease?.token ?? ""} ${++this.#batches}`;
    const epoch = await beginWriting(this.redis, writerOf(partition), writer);
    if (epoch === null) {
      throw new FencedError("Ids are being reclaimed: the batch waits for the fence to go down");
    }
    await this.applier.checkEpoch(epoch);
    await this.applier.ids(dids);
    return {
      partition,
      entries: events.map((event, k) => ({ id: eventIds[k], event })),
      ack: {
        stream: ack.stream,
        group: ack.group,
        entryIds: ack.entryIds,
        lease: ack.lease,
        writer,
      },
    };
  }

  /**
   * A prepared batch that will not run (the partition was lost, or the indexer stops before
   * it started): nothing of it was written, so its partition is no longer said to write.
   */
  async abandon({ partition, ack }: ClusterBatch): Promise<void> {
    if (ack.writer) await endWriting(this.redis, writerOf(partition), ack.writer);
  }

  /** The fence's token while the sweep reclaims ids (reclaim.ts), or null. */
  fence(): Promise<string | null> {
    return this.redis.get(storeKeys.idFence);
  }

  /** Applies a prepared batch and acknowledges its entries (see apply()). */
  async run({ partition, entries, ack }: ClusterBatch): Promise<ApplyStats> {
    const { applied, duplicate, unmatched, late } = await this.apply(partition, entries, ack);
    return { applied, duplicate, unmatched, late };
  }

  /**
   * Applies the events of `entries` (a partition's, in order, the last one ack's last) in
   * two rounds, then acknowledges `ack.entryIds`. Throws when a call failed: send the same
   * entries again (what was applied is not applied twice).
   */
  async apply(
    partition: number,
    entries: readonly ClusterEntry[],
    ack: ClusterAck,
  ): Promise<ClusterApplyStats> {
    const { waitReplicas = 0, waitMs = 500 } = this.options;
    const last = ack.entryIds.at(-1);
    // A read that brought nothing (a partition's pending list, read again, was empty).
    if (last === undefined) {
      if (entries.length > 0) throw new RangeError("Entries without their ids to acknowledge");
      if (ack.writer) await endWriting(this.redis, writerOf(partition), ack.writer);
      return zeroStats();
    }
    for (const id of ack.entryIds) {
      if (!STREAM_ID.test(id)) throw new TypeError(`Not a stream entry id: "${id}"`);
    }
    if (ack.lease && await this.redis.get(ack.lease.key) !== ack.lease.token) {
      throw new LeaseLostError(`Cannot apply a batch of "${ack.stream}": the lease is lost`);
    }
    let stats = zeroStats();
    if (entries.length > 0) {
      const first = await this.firstRound(partition, entries, ack.entryIds[0], last);
      stats = first.stats;
      // The second round only once the first is on the replicas: a failover that lost a
      // first-round call (its marks with it) would decide its entries again against what the
      // second round already wrote.
      this.#replicated(stats);
      stats.second = await writeBySlot(this.redis, String(partition), first.writes, last, {
        waitReplicas,
        waitMs,
      });
      stats.short += stats.second.short;
      stats.alone += stats.second.alone;
    }
    this.#replicated(stats);
    // Every write of the batch is where it belongs, and on a replica when asked.
    await this.redis.xack(ack.stream, ack.group, ...ack.entryIds);
    if (ack.writer) await endWriting(this.redis, writerOf(partition), ack.writer);
    return stats;
  }

  /** Throws ReplicasBehindError when a call came short of its replicas (see the options). */
  #replicated(stats: ClusterApplyStats): void {
    if (stats.short === 0 || this.options.acceptShort) return;
    const { waitReplicas = 0, waitMs = 500 } = this.options;
    const err = new ReplicasBehindError(
      `${stats.short} calls' writes reached fewer than ${waitReplicas} replicas in ${waitMs} ms; ` +
        "the batch is not acknowledged",
    );
    err.stats = stats;
    throw err;
  }

  /**
   * The first round alone: applies what lands in the authors' slots and returns the writes
   * for the second, per entry in order. `first` and `last` are the batch's first and last
   * entry ids (entries without an event included): what is below `first` was acknowledged.
   */
  async firstRound(
    partition: number,
    entries: readonly ClusterEntry[],
    first: string,
    last: string,
  ): Promise<{ writes: EntryWrites[]; stats: ClusterApplyStats }> {
    const stats = zeroStats();
    const writes = await this.#firstRound(partition, entries, first, last, stats);
    return { writes, stats };
  }

  async #firstRound(
    partition: number,
    entries: readonly ClusterEntry[],
    first: string,
    last: string,
    stats: ClusterApplyStats,
  ): Promise<EntryWrites[]> {
    const { memoryHours } = this.applier.options;
    const dids = new Set<string>();
    for (const { event } of entries) eventDids(event, dids);
    const ids = await this.applier.ids(dids);

    // Per author slot, its entries' operations; the spans and keys to read first.
    const plan = newPlan();
    let previous: string | undefined;
    for (const { id, event } of entries) {
      if (!STREAM_ID.test(id) || (previous !== undefined && !after(id, previous))) {
        throw new RangeError(`Entries must come in order: ${id} does not`);
      }
      // Checked before anything is written: an entry outside the batch would be refused by
      // the second round, or lose what the first round keeps of it.
      if (after(first, id) || after(id, last)) {
        throw new RangeError(`Entry ${id} is outside its batch (${first} to ${last})`);
      }
      previous = id;
      const ops = eventOps([event], ids, true);
      if (ops.length === 0) continue;
      const author = ids.get(event.did)!;
      addEntry(plan, author, id, ops);
      if (event.kind !== "commit" || event.collection === "app.bsky.actor.profile") continue;
      const span = spanOf(event.time);
      if (event.action !== "delete") plan.open.add(span);
      for (const s of memorySpans(span, memoryHours)) plan.read.add(s);
      if (
        event.collection === "app.bsky.graph.block" && event.action !== "delete" &&
        event.subject !== undefined && event.subject !== event.did
      ) {
        plan.members.push([storeKeys.blockedBy(ids.get(event.subject)!), String(author)]);
      }
      const code = event.action === "create" && event.opt?.match(/^[A-Za-z]+:([A-Za-z0-9]+)$/)?.[1];
      if (code) plan.codes.push(storeKeys.optCode(code));
    }
    return await this.#callFirstRound(partition, first, last, plan, stats);
  }

  /**
   * Applies the operations of one author given as they are (the backfill's: a repository's
   * part, or its account's events; store/backfill.ts) as entry `id` of `partition` (a name
   * of the writer's own, not a stream's; entries of one partition come from one writer at
   * a time, in order), in both rounds, each call followed by WAIT as the options say;
   * nothing is acknowledged. `reads` says what the calls must know before: the spans to open
   * and to read, and the members of who-blocks-whom sets. Sent again with the same id and
   * no operations (a stop came between the rounds), it writes the second round of what the
   * first applied then, if it did. Throws when a call failed or came short of its replicas.
   */
  async applyEntry(
    partition: string,
    id: string,
    author: number,
    ops: readonly Arg[],
    reads: EntryReads = {},
  ): Promise<ClusterApplyStats> {
    const { writes, stats } = await this.applyEntryFirst(partition, id, author, ops, reads);
    this.#replicated(stats);
    const { waitReplicas = 0, waitMs = 500 } = this.options;
    stats.second = await writeBySlot(this.redis, partition, writes, id, { waitReplicas, waitMs });
    stats.short += stats.second.short;
    stats.alone += stats.second.alone;
    this.#replicated(stats);
    return stats;
  }

  /** applyEntry()'s first round alone: its writes for the second. */
  async applyEntryFirst(
    partition: string,
    id: string,
    author: number,
    ops: readonly Arg[],
    reads: EntryReads = {},
  ): Promise<{ writes: EntryWrites[]; stats: ClusterApplyStats }> {
    if (!STREAM_ID.test(id)) throw new TypeError(`Not an entry id: "${id}"`);
    const stats = zeroStats();
    const plan = newPlan();
    addEntry(plan, author, id, ops);
    for (const s of reads.open ?? []) plan.open.add(s);
    for (const s of reads.read ?? []) plan.read.add(s);
    plan.members.push(...reads.members ?? []);
    return { writes: await this.#callFirstRound(partition, id, id, plan, stats), stats };
  }

  /** The first round's calls for `plan`, one per master, all at once. */
  async #callFirstRound(
    partition: number | string,
    first: string,
    last: string,
    plan: Plan,
    stats: ClusterApplyStats,
  ): Promise<EntryWrites[]> {
    const { retentionDays, memoryHours } = this.applier.options;
    const { slots, open, read, members, codes } = plan;
    // What the calls cannot read themselves.
    const spans = await this.#openSpans([...open], [...read].filter((s) => !open.has(s)));
    const known: Arg[] = [];
    if (members.length + codes.length > 0) {
      const pipe = crossSlotPipeline(this.redis);
      for (const [key, member] of members) pipe.zscore(key, member);
      for (const key of codes) pipe.get(key);
      const replies = repliesOf(await pipe.exec());
      members.forEach(([key, member], k) => {
        known.push(key, member, replies[k][1] === null ? "0" : "1");
      });
      codes.forEach((key, k) => {
        known.push(key, "", (replies[members.length + k][1] as string | null) ?? "");
      });
    }
    const head: Arg[] = [
      retentionDays * 86400,
      memoryHours * 3600,
      memoryHours,
      "",
      "",
      0,
      "",
      "",
      String(partition),
      first,
      last,
      spans.length / 2,
      ...spans,
      known.length / 3,
      ...known,
    ];

    // One call per master, all at once; each followed by WAIT on its connection.
    const calls = new Map<string, { client: Redis | undefined; args: Arg[] }>();
    for (const [slot, part] of slots) {
      const { name, client } = nodeFor(this.redis, slot);
      let call = calls.get(name);
      if (!call) calls.set(name, call = { client, args: [...head] });
      call.args.push(part.tag, 0);
      // The slot's number of entries, then the entries.
      let n = 0;
      for (let k = 0; k < part.args.length; k += 2 + Number(part.args[k + 1])) n++;
      call.args[call.args.length - 1] = n;
      call.args.push(...part.args);
    }
    stats.firstCalls = calls.size;
    const { waitReplicas = 0, waitMs = 500 } = this.options;
    const replies = await Promise.allSettled([...calls].map(async ([name, call]) => {
      if (!call.client) throw new Error(`No connection to the master ${name || "unknown"}`);
      defineScript(call.client, "applyFirstRound", APPLY_CLUSTER_SCRIPT);
      const reply = await (call.client as unknown as Runner).applyFirstRoundBuffer(
        ...call.args,
      );
      // WAIT on the connection the reply came on, or "short" (slot_writes.ts).
      const stream = call.client.stream;
      const replicated = await waitForReplicas(call.client, waitReplicas, waitMs, stream);
      if (replicated === "short") stats.short++;
      if (replicated === "alone") stats.alone++;
      return reply;
    }));
    const failed = replies.filter((r) => r.status === "rejected").map((r) => r.reason);
    if (failed.length > 0) {
      if (isCluster(this.redis)) {
        const cluster = this.redis;
        await new Promise<void>((r) => cluster.refreshSlotsCache(() => r()));
      }
      throw new AggregateError(
        failed,
        `${failed.length} of ${calls.size} first-round calls failed (${
          errorMessage(failed[0])
        }); the batch must be sent again`,
      );
    }
    const byEntry = new Map<string, SlotWrite[]>();
    for (const r of replies) {
      if (r.status !== "fulfilled") continue;
      const [applied, duplicate, unmatched, late, writes] = r.value;
      stats.applied += applied;
      stats.duplicate += duplicate;
      stats.unmatched += unmatched;
      stats.late += late;
      for (const [id, flat] of writes) {
        const list = byEntry.get(text(id)) ?? [];
        for (let w = 0; w < flat.length; w += 4) {
          list.push(slotWrite(text(flat[w]), text(flat[w + 1]), flat[w + 2], text(flat[w + 3])));
        }
        byEntry.set(text(id), list);
      }
    }
    return [...byEntry].sort(([a], [b]) => after(a, b) ? 1 : -1).map(([id, writes]) => ({
      id,
      writes,
    }));
  }

  /** Opens the spans in `open` and reads the counts of those and of `read`: span, count, … */
  async #openSpans(open: number[], read: number[]): Promise<number[]> {
    if (open.length + read.length === 0) return [];
    const redis = this.redis as unknown as Runner & Redis;
    defineScript(redis, "openSpans", OPEN_SPANS_SCRIPT, 1);
    const counts = await redis.openSpans(storeKeys.recordBuckets, open.length, ...open, ...read);
    return [...open, ...read].flatMap((span, k) => counts[k] > 0 ? [span, counts[k]] : []);
  }
}
