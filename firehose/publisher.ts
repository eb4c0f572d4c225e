/**
 * Writes a batch of events with the cursors that cover them, atomically per hash slot (a Lua
 * script), so that no cursor can run ahead of its stream.
 *
 * Each partition's stream has a cursor of its own, in its slot: the last relay seq written
 * into that stream. A partition applies a batch `from → to` only on top of a cursor at or
 * past `from`, and skips the events at or below its cursor (enforced in the script), so a
 * batch resent after a lost reply, or a restart from the smallest cursor, never writes an
 * event into a partition twice. The network counters have a cursor of their own, which only
 * moves from exactly where it is expected (counts cannot be taken apart by seq: after a
 * restart from a smaller cursor, batches up to the counters' cursor are not counted again,
 * and the one that reaches past it is counted whole).
 *
 * On one server (and every key in one call) all of that is one script per batch, refused
 * whole when anything does not fit, as before partitions had slots of their own. On Redis
 * Cluster every partition is its own call, in parallel, and the counters are written after
 * the batch by the batcher (publishCounts()), so that their cursor never passes a
 * partition's. With `waitReplicas`, each call is followed by WAIT on the same connection.
 */
import { consumerGroups, isCluster, type RedisClient } from "@bsky/shared/redis";
import { encodeEvent, EVENT_VERSION, type FirehoseEvent } from "@bsky/shared/events";
import { firehoseKeys, partitionOf } from "@bsky/shared/keys";
import type { Logger } from "@bsky/shared/log";
import { encodeCounts, isEmptyCounts, type NetworkCounts } from "./network_counts.ts";
import {
  MIGRATE_SCRIPT,
  parseCursor,
  PUBLISH_SCRIPT,
  type PublishResult,
  type Reply,
  toResult,
} from "./publish_script.ts";
import type { Buffer } from "node:buffer";
import { type Chunk, encodeChunk, joinChunks } from "./chunk.ts";

/**
 * A script argument: events travel as bytes (chunk.ts), always as a Buffer, which ioredis
 * sends as it is (any other Uint8Array it would turn into text).
 */
type Arg = string | number | Buffer;

export type { PublishResult } from "./publish_script.ts";

export interface PublisherOptions {
  partitions: number;
  /** Approximate cap on each stream's length (XTRIM MAXLEN ~ after each batch). */
  maxLen: number;
  /** Which source's cursors this publisher owns ("relay" or "jetstream"). */
  source: string;
  /**
   * Consumer groups the firehose never waits for: MAXLEN may trim what they have not read
   * (a bot that only answers recent posts). Every other group holds the firehose back.
   */
  bestEffortGroups?: readonly string[];
  /**
   * Replicas each write must reach before it counts as done (WAIT on the same connection);
   * 0 or unset: none. A write that reaches fewer in `waitTimeoutMs` still counts, and is
   * reported to `onWaitShortfall`; that node's writes then skip WAIT for a while.
   */
  waitReplicas?: number;
  waitTimeoutMs?: number;
  onWaitShortfall?: (key: string, acknowledged: number) => void;
  log?: Logger;
}

/** Writes of a node that came up short skip WAIT for this many calls, then try again. */
const WAIT_BACKOFF_CALLS = 100;

type Scripted = RedisClient & {
  publishBatch(...args: Arg[]): Promise<Reply>;
  migrateLayout(...args: (string | number)[]): Promise<number>;
};

export class Publisher {
  /** The network counters' cursor; on one server it moves with every partition's. */
  readonly cursorKey: string;
  readonly partitionCursorKeys: string[];
  readonly streamKeys: string[];
  /** On Cluster: one call per partition, and the counters written apart (publishCounts()). */
  readonly perPartition: boolean;
  /** Each partition's cursor as last loaded (undefined: it had none). */
  #floors: (number | undefined)[];
  /** The smallest cursor at the last load: where the subscription resumed. */
  #resumedAt: number | undefined;
  /** The counters' cursor as last loaded. */
  countedCursor: number | undefined;
  /** Per call target, how many more calls skip WAIT after one came up short. */
  #waitSkips = new Map<string, number>();
  #redis: Scripted;

  constructor(redis: RedisClient, readonly options: PublisherOptions) {
    this.cursorKey = `${firehoseKeys.cursor}:${options.source}`;
    this.streamKeys = firehoseKeys.streams(options.partitions);
    this.partitionCursorKeys = this.streamKeys.map((_, p) =>
      `${firehoseKeys.partitionCursor(p)}:${options.source}`
    );
    this.perPartition = isCluster(redis);
    this.#floors = this.streamKeys.map(() => undefined);
    this.#redis = redis as Scripted;
    if (!("publishBatch" in redis)) redis.defineCommand("publishBatch", { lua: PUBLISH_SCRIPT });
    if (!("migrateLayout" in redis)) redis.defineCommand("migrateLayout", { lua: MIGRATE_SCRIPT });
  }

  /** Every cursor: the partitions', then the counters'. */
  get cursorKeys(): string[] {
    return [...this.partitionCursorKeys, this.cursorKey];
  }

  /**
   * The most entries any consumer group has yet to consume (unread, or delivered and not
   * acknowledged) in any stream: what the cap would trim if it grew past it.
   */
  async consumerLag(): Promise<number> {
    let worst = 0;
    for (const key of this.streamKeys) {
      for (const g of await consumerGroups(this.#redis, key)) {
        if (this.options.bestEffortGroups?.includes(g.name)) continue;
        // An unknown lag means Redis cannot tell: count the whole stream.
        const lag = g.lag ?? await this.#redis.xlen(key);
        worst = Math.max(worst, g.pending + lag);
      }
    }
    return worst;
  }

  async #readCursors(): Promise<(number | undefined)[]> {
    const keys = this.cursorKeys;
    // On Cluster the keys are in different slots: one GET each.
    const values = this.perPartition
      ? await Promise.all(keys.map((k) => this.#redis.get(k)))
      : await this.#redis.mget(...keys);
    return values.map(parseCursor);
  }

  /**
   * Where to resume: the smallest cursor stored (every partition's and the counters'), so
   * that each gets what it lacks; each partition then skips what it holds. Also remembers
   * each cursor for the batches that follow.
   *
   * A deployment of the previous layout (one cursor, every stream in one slot) has the
   * counters' cursor and no partition's: on one server its streams are renamed to the new
   * names with their entries and consumer groups (when a new one is missing or empty) and
   * the partitions' cursors set to it, atomically; on Cluster, where a rename cannot cross
   * slots, the cursors are set and a warning names the events left in the old streams.
   */
  async loadCursor(): Promise<number | undefined> {
    let cursors = await this.#readCursors();
    const counted = cursors[cursors.length - 1];
    if (counted !== undefined && cursors.slice(0, -1).every((c) => c === undefined)) {
      await this.#migrate(counted);
      cursors = await this.#readCursors();
    }
    this.countedCursor = cursors.pop();
    this.#floors = cursors;
    const known = [...cursors, this.countedCursor].filter((c): c is number => c !== undefined);
    this.#resumedAt = known.length > 0 ? Math.min(...known) : undefined;
    return this.#resumedAt;
  }

  async #migrate(cursor: number): Promise<void> {
    const log = this.options.log;
    const legacy = this.streamKeys.map((_, p) => firehoseKeys.legacyStream(p));
    if (!this.perPartition) {
      const keys = this.streamKeys.flatMap((s, p) => [this.partitionCursorKeys[p], s, legacy[p]]);
      const moved = await this.#redis.migrateLayout(
        keys.length + 1,
        this.cursorKey,
        ...keys,
        cursor,
        this.streamKeys.length,
      );
      log?.info("Moved the streams to one hash slot per partition", { cursor, streams: moved });
      return;
    }
    for (const key of this.partitionCursorKeys) await this.#redis.set(key, cursor, "NX");
    const left = (await Promise.all(legacy.map((k) => this.#redis.xlen(k))))
      .reduce((a, b) => a + b, 0);
    log?.warn(
      left > 0
        ? "Events are left in the streams of the previous layout (one slot for all); a consumer of the new streams does not read them"
        : "Started each partition's cursor from the previous layout's cursor",
      { cursor, left },
    );
  }

  /**
   * Publishes events and moves the cursors from `from` to `to`. `chunks` holds, per
   * partition, chunks of event JSON lines (see encodeEvent and chunk.ts), in seq
   * order; `counts` are the network counters of those events, written with them on one
   * server (on Cluster, the batcher writes them afterwards with publishCounts()).
   */
  async publish(
    chunks: readonly (readonly Chunk[])[],
    from: number | undefined,
    to: number,
    counts?: NetworkCounts,
  ): Promise<PublishResult> {
    const head = [
      from === undefined ? "" : String(from),
      String(to),
      this.options.maxLen,
      EVENT_VERSION,
      (this.options.bestEffortGroups ?? []).join(","),
    ];
    // A partition without a cursor when the subscription resumed starts with this batch.
    const fresh = (p: number) =>
      this.#floors[p] === undefined && from === this.#resumedAt ? "1" : "0";
    if (!this.perPartition) {
      // Counters further on than `from` (a restart from a smaller cursor) count from there.
      const counted = this.countedCursor;
      const countsFrom = counted !== undefined && (from === undefined || counted > from)
        ? counted
        : from;
      const withCounts = countsFrom === undefined || to > countsFrom;
      const keys: string[] = withCounts ? [this.cursorKey] : [];
      const args: Arg[] = [
        ...head,
        withCounts ? (counts && !isEmptyCounts(counts) ? encodeCounts(counts) : "") : "-",
        countsFrom === undefined ? "" : String(countsFrom),
      ];
      // Few large arguments are much cheaper to send than one pair per event.
      for (let p = 0; p < this.streamKeys.length; p++) {
        keys.push(this.partitionCursorKeys[p], this.streamKeys[p]);
        args.push(fresh(p), joinChunks(chunks[p]));
      }
      return toResult(await this.#call(keys, args));
    }
    const calls: Promise<Reply>[] = [];
    for (let p = 0; p < this.streamKeys.length; p++) {
      const floor = this.#floors[p];
      if (floor !== undefined && to <= floor) continue; // it holds this whole batch already
      calls.push(this.#call(
        [this.partitionCursorKeys[p], this.streamKeys[p]],
        [...head, "-", "", fresh(p), joinChunks(chunks[p])],
      ));
    }
    // Every call is answered before the batch is: a resend never overtakes a call in flight.
    const settled = await Promise.allSettled(calls);
    const results = settled.flatMap((s) => s.status === "fulfilled" ? [toResult(s.value)] : []);
    const conflict = results.find((r) => r.status === "conflict");
    if (conflict) return conflict;
    const failed = settled.find((s) => s.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;
    if (results.some((r) => r.status === "full")) return { status: "full" };
    return results.some((r) => r.status === "applied")
      ? { status: "applied" }
      : { status: "duplicate" };
  }

  /**
   * On Cluster: writes the network counters of the events from `from` to `to`, which the
   * streams already hold, moving the counters' cursor from exactly `from`.
   */
  async publishCounts(
    counts: NetworkCounts,
    from: number | undefined,
    to: number,
  ): Promise<PublishResult> {
    const reply = await this.#call([this.cursorKey], [
      from === undefined ? "" : String(from),
      String(to),
      this.options.maxLen,
      EVENT_VERSION,
      "",
      isEmptyCounts(counts) ? "" : encodeCounts(counts),
      from === undefined ? "" : String(from),
    ]);
    return toResult(reply);
  }

  /** One script call, followed on the same connection by WAIT when replicas are asked for. */
  async #call(keys: string[], args: Arg[]): Promise<Reply> {
    const replicas = this.options.waitReplicas ?? 0;
    const target = keys[keys.length - 1];
    const skips = this.#waitSkips.get(target) ?? 0;
    if (replicas <= 0 || skips > 0) {
      if (skips > 0) this.#waitSkips.set(target, skips - 1);
      return await this.#redis.publishBatch(keys.length, ...keys, ...args);
    }
    const pipe = this.#redis.pipeline() as ReturnType<RedisClient["pipeline"]> & {
      publishBatch(...args: Arg[]): unknown;
    };
    pipe.publishBatch(keys.length, ...keys, ...args);
    pipe.wait(replicas, this.options.waitTimeoutMs ?? 500);
    const [[err, reply], [waitErr, acknowledged]] = (await pipe.exec())!;
    if (err) {
      // A pipeline follows a redirection only when every reply is one (WAIT's is not): learn
      // where the slot went, for the batch sent again.
      if (isCluster(this.#redis) && /^(MOVED|ASK|TRYAGAIN|CLUSTERDOWN) /.test(err.message)) {
        this.#redis.refreshSlotsCache();
      }
      throw err;
    }
    if (waitErr) throw waitErr;
    if ((reply as Reply)[0] === 1 && Number(acknowledged) < replicas) {
      this.#waitSkips.set(target, WAIT_BACKOFF_CALLS);
      this.options.onWaitShortfall?.(target, Number(acknowledged));
    }
    return reply as Reply;
  }
}

/** The chunks publish() takes, for a list of events (tests and tools). */
export function chunksOf(events: readonly FirehoseEvent[], partitions: number): Chunk[][] {
  const lines: string[][] = Array.from({ length: partitions }, () => []);
  for (const e of events) lines[partitionOf(e.did, partitions)].push(encodeEvent(e));
  return lines.map((l) => l.length ? [encodeChunk(l)] : []);
}
