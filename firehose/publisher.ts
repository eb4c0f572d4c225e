/**
 * Writes a batch of events and the cursor that covers them in one atomic step (a Lua
 * script), so the cursor can never run ahead of the streams. The script only applies a
 * batch on top of the cursor it was built from: a batch resent after a lost reply, or
 * written by a second process, is recognised instead of being added twice.
 */
import { consumerGroups, type Redis } from "@bsky/shared/redis";
import { encodeEvent, EVENT_VERSION, type FirehoseEvent } from "@bsky/shared/events";
import { firehoseKeys, partitionOf } from "@bsky/shared/keys";
import { StateCorruptionError } from "@bsky/shared/errors";
import { COUNTS_LUA, encodeCounts, isEmptyCounts, type NetworkCounts } from "./network_counts.ts";

const PUBLISH_SCRIPT = COUNTS_LUA + `
local current = redis.call('GET', KEYS[1])
if current == false then current = '' end
if current == ARGV[2] then return {2, current} end
if current ~= ARGV[1] then return {0, current} end
local maxlen = ARGV[3]
local version = ARGV[4]
-- Groups that may lose what they have not read (ARGV[6], comma-separated): never waited for.
local best_effort = {}
for name in string.gmatch(ARGV[6], '[^,]+') do best_effort[name] = true end
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
-- Refuse a batch that would let MAXLEN trim entries a consumer has not consumed.
if tonumber(maxlen) > 0 then
  for i = 7, #ARGV, 2 do
    local key = KEYS[tonumber(ARGV[i]) + 2]
    local n = select(2, string.gsub(ARGV[i + 1], '\\n', '')) + 1
    if redis.call('EXISTS', key) == 1 and behind(key) + n > tonumber(maxlen) then
      return {3, current}
    end
  end
end
-- One argument per partition: its events' JSON, one per line (JSON never holds a raw newline).
for i = 7, #ARGV, 2 do
  local key = KEYS[tonumber(ARGV[i]) + 2]
  for e in string.gmatch(ARGV[i + 1], '[^\\n]+') do
    redis.call('XADD', key, 'MAXLEN', '~', maxlen, '*', 'v', version, 'e', e)
  end
end
-- The network counters of these events commit with them (see network_counts.ts).
apply_counts(ARGV[5])
redis.call('SET', KEYS[1], ARGV[2])
return {1, ARGV[2]}
`;

export type PublishResult =
  | { status: "applied" }
  /** The cursor already holds this batch's value: a resend of a batch that landed. */
  | { status: "duplicate" }
  /** The cursor moved under us (another writer, or Redis lost data): nothing was written. */
  | { status: "conflict"; current: number | undefined }
  /** A consumer group is so far behind that the cap would trim what it has not read. */
  | { status: "full" };

export interface PublisherOptions {
  partitions: number;
  /** Approximate cap on each stream's length (XADD MAXLEN ~). */
  maxLen: number;
  /** Which source's cursor this publisher owns ("relay" or "jetstream"). */
  source: string;
  /**
   * Consumer groups the firehose never waits for: MAXLEN may trim what they have not read
   * (a bot that only answers recent posts). Every other group holds the firehose back.
   */
  bestEffortGroups?: readonly string[];
}

function parseCursor(value: string | null | undefined): number | undefined {
  if (value === null || value === undefined || value === "") return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new StateCorruptionError(`Cannot parse stored cursor: "${value}" is not an integer`);
  }
  return n;
}

export class Publisher {
  readonly cursorKey: string;
  readonly streamKeys: string[];
  #redis: Redis & { publishBatch?: (...args: (string | number)[]) => Promise<[number, string]> };

  constructor(redis: Redis, readonly options: PublisherOptions) {
    this.cursorKey = `${firehoseKeys.cursor}:${options.source}`;
    this.streamKeys = firehoseKeys.streams(options.partitions);
    this.#redis = redis;
    if (!("publishBatch" in redis)) {
      redis.defineCommand("publishBatch", { lua: PUBLISH_SCRIPT });
    }
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

  /** The durable cursor: the last seq whose events are all in the streams. */
  async loadCursor(): Promise<number | undefined> {
    return parseCursor(await this.#redis.get(this.cursorKey));
  }

  /**
   * Publishes events and moves the cursor from `from` to `to` atomically. `chunks` holds,
   * per partition, chunks of event JSON lines (see encodeEvent), joined by newlines;
   * `counts` are the network counters of those events, written with them.
   */
  async publish(
    chunks: readonly (readonly string[])[],
    from: number | undefined,
    to: number,
    counts?: NetworkCounts,
  ): Promise<PublishResult> {
    const args: (string | number)[] = [
      this.streamKeys.length + 1,
      this.cursorKey,
      ...this.streamKeys,
      from === undefined ? "" : String(from),
      String(to),
      this.options.maxLen,
      EVENT_VERSION,
      counts && !isEmptyCounts(counts) ? encodeCounts(counts) : "",
      (this.options.bestEffortGroups ?? []).join(","),
    ];
    // Few large arguments are much cheaper to send than one pair per event.
    chunks.forEach((c, p) => {
      if (c.length > 0) args.push(p, c.join("\n"));
    });
    const [code, current] = await this.#redis.publishBatch!(...args);
    if (code === 1) return { status: "applied" };
    if (code === 2) return { status: "duplicate" };
    if (code === 3) return { status: "full" };
    return { status: "conflict", current: parseCursor(current) };
  }
}

/** The chunks publish() takes, for a list of events (tests and tools). */
export function chunksOf(events: readonly FirehoseEvent[], partitions: number): string[][] {
  const chunks: string[][] = Array.from({ length: partitions }, () => []);
  for (const e of events) chunks[partitionOf(e.did, partitions)].push(encodeEvent(e));
  return chunks;
}
