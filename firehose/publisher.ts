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
import { StateCorruptionError } from "@bsky/shared/errors";
import type { Logger } from "@bsky/shared/log";
import { COUNTS_LUA, encodeCounts, isEmptyCounts, type NetworkCounts } from "./network_counts.ts";

/**
 * KEYS: the counters' cursor (when ARGV[6] is not '-'), then per partition its cursor and
 * its stream. ARGV: 1 from ('' when none), 2 to, 3 maxlen, 4 event version, 5 best-effort
 * groups (comma-separated), 6 '-' when the counters are not in this call, else their encoded
 * counts, 7 the counters' cursor they apply on ('' when none); then per partition: '1' when
 * it may have no cursor yet, and its events' JSON, one per line (JSON never holds a raw
 * newline), in seq order.
 * Returns {1, to} applied, {2, to} nothing left to write (a resend), {0, stored cursor} a
 * cursor that does not fit (nothing written), {3, ''} a consumer too far behind (nothing
 * written).
 */
const PUBLISH_SCRIPT = COUNTS_LUA + `
local from, to, maxlen, version = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local from_n, to_n = tonumber(from), tonumber(to)
local counted = ARGV[6] ~= '-'
local first = counted and 2 or 1
-- Groups that may lose what they have not read: never waited for.
local best_effort = {}
for name in string.gmatch(ARGV[5], '[^,]+') do best_effort[name] = true end
-- A consumer group's unconsumed entries (unread plus delivered and not acknowledged).
local function behind(key)
  local worst = 0
  for _, g in ipairs(redis.call('XINFO', 'GROUPS', key)) do
    local f = {}
    for k = 1, #g, 2 do f[g[k]] = g[k + 1] end
    if best_effort[f['name']] then f['lag'] = 0; f['pending'] = 0 end
    local lag = f['lag']
    if type(lag) ~= 'number' then lag = redis.call('XLEN', key) end
    worst = math.max(worst, lag + (f['pending'] or 0))
  end
  return worst
end
-- Everything is checked before anything is written.
local write_counts = false
if counted then
  local c, expected = redis.call('GET', KEYS[1]), ARGV[7]
  if c ~= to then
    if c ~= expected and not (c == false and expected == '') then return {0, c or ''} end
    write_counts = true
  end
end
local writes = {}
local any = write_counts
for i = first, #KEYS, 2 do
  local a = 8 + (i - first)
  local c = redis.call('GET', KEYS[i])
  local cn = tonumber(c)
  if cn == nil then
    if c or ARGV[a] ~= '1' then return {0, c or ''} end
    writes[#writes + 1] = {i, ARGV[a + 1], nil}
    any = true
  elseif cn < to_n then
    if from_n == nil or cn < from_n then return {0, c} end
    -- The events this partition holds already (a restart from a smaller cursor) are skipped.
    writes[#writes + 1] = {i, ARGV[a + 1], cn > from_n and cn or nil}
    any = true
  end
end
if not any then return {2, to} end
-- Refuse a batch that would let MAXLEN trim entries a consumer has not consumed.
if tonumber(maxlen) > 0 then
  for _, w in ipairs(writes) do
    local key = KEYS[w[1] + 1]
    local n = select(2, string.gsub(w[2], '\\n', '')) + 1
    if w[2] ~= '' and redis.call('EXISTS', key) == 1 and behind(key) + n > tonumber(maxlen) then
      return {3, ''}
    end
  end
end
for _, w in ipairs(writes) do
  local key, skip = KEYS[w[1] + 1], w[3]
  for e in string.gmatch(w[2], '[^\\n]+') do
    if skip then
      local seq = tonumber(string.match(e, '^{"v":%d+,"kind":"%a+","seq":(%d+)') or
        string.match(e, '"seq":(%d+)'))
      if seq == nil or seq > skip then skip = nil end
    end
    if not skip then redis.call('XADD', key, 'MAXLEN', '~', maxlen, '*', 'v', version, 'e', e) end
  end
  redis.call('SET', KEYS[w[1]], to)
end
-- The network counters of these events commit with them (see network_counts.ts).
if write_counts then
  apply_counts(ARGV[6])
  redis.call('SET', KEYS[1], to)
end
return {1, to}
`;

export type PublishResult =
  | { status: "applied" }
  /** Every cursor already holds this batch's value: a resend of a batch that landed. */
  | { status: "duplicate" }
  /**
   * A cursor is not where this batch starts (another writer, or Redis lost data): on one
   * server nothing was written; on Cluster, the partitions that fit were. `current` is that
   * cursor; loadCursor() reads them all again.
   */
  | { status: "conflict"; current: number | undefined }
  /** A consumer group is so far behind that the cap would trim what it has not read. */
  | { status: "full" };

export interface PublisherOptions {
  partitions: number;
  /** Approximate cap on each stream's length (XADD MAXLEN ~). */
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

function parseCursor(value: string | null | undefined): number | undefined {
  if (value === null || value === undefined || value === "") return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new StateCorruptionError(`Cannot parse stored cursor: "${value}" is not an integer`);
  }
  return n;
}

/** Moves a single server's streams of the previous layout to the new names, once. */
const MIGRATE_SCRIPT = `
local n = tonumber(ARGV[2])
for p = 1, n do
  if redis.call('EXISTS', KEYS[2 + 3 * (p - 1)]) == 1 then return 0 end
end
local moved = 0
for p = 1, n do
  local cursor, stream, legacy = KEYS[2 + 3 * (p - 1)], KEYS[3 + 3 * (p - 1)], KEYS[4 + 3 * (p - 1)]
  if redis.call('EXISTS', legacy) == 1 and
    (redis.call('EXISTS', stream) == 0 or redis.call('XLEN', stream) == 0) then
    redis.call('RENAME', legacy, stream)
    moved = moved + 1
  end
  redis.call('SET', cursor, ARGV[1])
end
return moved
`;

type Reply = [number, string];
type Scripted = RedisClient & {
  publishBatch(...args: (string | number)[]): Promise<Reply>;
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
   * acknowledged) in any stream: what XADD MAXLEN would trim if it grew past the cap.
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
   * partition, chunks of event JSON lines (see encodeEvent), joined by newlines, in seq
   * order; `counts` are the network counters of those events, written with them on one
   * server (on Cluster, the batcher writes them afterwards with publishCounts()).
   */
  async publish(
    chunks: readonly (readonly string[])[],
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
      const args: (string | number)[] = [
        ...head,
        withCounts ? (counts && !isEmptyCounts(counts) ? encodeCounts(counts) : "") : "-",
        countsFrom === undefined ? "" : String(countsFrom),
      ];
      // Few large arguments are much cheaper to send than one pair per event.
      for (let p = 0; p < this.streamKeys.length; p++) {
        keys.push(this.partitionCursorKeys[p], this.streamKeys[p]);
        args.push(fresh(p), chunks[p]?.join("\n") ?? "");
      }
      return toResult(await this.#call(keys, args));
    }
    const calls: Promise<Reply>[] = [];
    for (let p = 0; p < this.streamKeys.length; p++) {
      const floor = this.#floors[p];
      if (floor !== undefined && to <= floor) continue; // it holds this whole batch already
      calls.push(this.#call(
        [this.partitionCursorKeys[p], this.streamKeys[p]],
        [...head, "-", "", fresh(p), chunks[p]?.join("\n") ?? ""],
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
  async #call(keys: string[], args: (string | number)[]): Promise<Reply> {
    const replicas = this.options.waitReplicas ?? 0;
    const target = keys[keys.length - 1];
    const skips = this.#waitSkips.get(target) ?? 0;
    if (replicas <= 0 || skips > 0) {
      if (skips > 0) this.#waitSkips.set(target, skips - 1);
      return await this.#redis.publishBatch(keys.length, ...keys, ...args);
    }
    const pipe = this.#redis.pipeline() as ReturnType<RedisClient["pipeline"]> & {
      publishBatch(...args: (string | number)[]): unknown;
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

function toResult([code, current]: Reply): PublishResult {
  if (code === 1) return { status: "applied" };
  if (code === 2) return { status: "duplicate" };
  if (code === 3) return { status: "full" };
  return { status: "conflict", current: parseCursor(current) };
}

/** The chunks publish() takes, for a list of events (tests and tools). */
export function chunksOf(events: readonly FirehoseEvent[], partitions: number): string[][] {
  const chunks: string[][] = Array.from({ length: partitions }, () => []);
  for (const e of events) chunks[partitionOf(e.did, partitions)].push(encodeEvent(e));
  return chunks;
}
