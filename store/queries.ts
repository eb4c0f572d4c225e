/**
 * Reads of the interaction store: who an account interacts with most, and its totals.
 * Cost: one GET per week of the window, then a pass over 5-byte entries with no object per
 * entry.
 */
import type { Redis } from "@bsky/shared/redis";
import {
  didKey,
  didOfKey,
  HOUR_MS,
  ID_BUCKET,
  type InteractionType,
  scanLog,
  storeKeys,
  TYPES,
  WEEK_HOURS,
} from "./layout.ts";

export type Direction = "sent" | "received" | "both" | "mutual";

/**
 * Default weights: a reply or a quote takes writing and says more about a relationship
 * than a like; a repost or a mention sits between.
 */
export const DEFAULT_WEIGHTS: Readonly<Record<InteractionType, number>> = {
  like: 1,
  repost: 2,
  reply: 3,
  quote: 3,
  mention: 2,
};

export interface TopOptions {
  direction: Direction;
  /** Whole hours back from the current hour, 1 to the retention. */
  windowHours: number;
  limit: number;
  weights?: Partial<Record<InteractionType, number>>;
  /** Leave out the accounts the actor blocks (for circles). */
  excludeBlocked?: boolean;
  /** The instant the window ends in (its hour is the window's last). */
  now: number;
}

export type Counts = Record<InteractionType, number>;

export interface Counterpart extends Counts {
  did: string;
  score: number;
}

/** Columns of a tally: the five interaction types, then blocks. */
const COLUMNS = 6;

/**
 * Counts per id in `columns` columns, with no object per id: `slot` maps an id to its row,
 * which starts at counts[slot * columns]. The queries tally counterparts in it, the
 * scheduler whole accounts.
 */
export class CountTable {
  slot = new Map<number, number>();
  ids: number[] = [];
  counts: Int32Array;

  constructor(readonly columns: number, rows = 64) {
    this.counts = new Int32Array(columns * rows);
  }

  /** Where `id`'s row starts in `counts` (a new row of zeros for a new id). */
  row(id: number): number {
    let s = this.slot.get(id);
    if (s === undefined) {
      s = this.ids.length;
      this.slot.set(id, s);
      this.ids.push(id);
      if (this.counts.length < (s + 1) * this.columns) {
        const grown = new Int32Array(this.counts.length * 2);
        grown.set(this.counts);
        this.counts = grown;
      }
    }
    return s * this.columns;
  }

  add(id: number, column: number, by: number): void {
    // The row first: making it may replace `counts`.
    const at = this.row(id);
    this.counts[at + column] += by;
  }

  get size(): number {
    return this.ids.length;
  }

  /** Adds another table's counts into this one. */
  merge(other: CountTable): void {
    for (let s = 0; s < other.ids.length; s++) {
      for (let t = 0; t < this.columns; t++) {
        const n = other.counts[s * other.columns + t];
        if (n) this.add(other.ids[s], t, n);
      }
    }
  }
}

/** A tally of counterparts: the five interaction types, then blocks. */
type Tally = CountTable;
const newTally = () => new CountTable(COLUMNS);

function zero(): Counts {
  return { like: 0, repost: 0, reply: 0, quote: 0, mention: 0 };
}

/** The store id of a DID, if it was ever seen. */
export async function idOf(redis: Redis, did: string): Promise<number | undefined> {
  const id = await redis.hget(storeKeys.didToId, didKey(did));
  return id === null ? undefined : Number(id);
}

/** The DIDs of store ids (undefined for an id never given out). */
export async function didsOf(
  redis: Redis,
  ids: readonly (number | string)[],
): Promise<(string | undefined)[]> {
  if (ids.length === 0) return [];
  const pipe = redis.pipeline();
  for (const id of ids) {
    pipe.hgetBuffer(storeKeys.idToDid(Number(id)), String(Number(id) % ID_BUCKET));
  }
  const rows = (await pipe.exec())!;
  return rows.map(([err, key]) => {
    if (err) throw err;
    return key ? didOfKey(key as Uint8Array) : undefined;
  });
}

/**
 * The span a window of `windowHours` counts at `now`: whole hours, ending with the hour
 * `now` is in (what the queries count, for answers that say what they cover).
 */
export function windowRange(windowHours: number, now: number): { from: Date; to: Date } {
  const to = (Math.floor(now / HOUR_MS) + 1) * HOUR_MS;
  return { from: new Date(to - windowHours * HOUR_MS), to: new Date(to) };
}

/** Per counterpart, counts by type within the window: [sent, received]. */
async function tallies(
  redis: Redis,
  id: number,
  windowHours: number,
  now: number,
): Promise<[Tally, Tally]> {
  const lastHour = Math.floor(now / HOUR_MS);
  const firstHour = lastHour - windowHours + 1;
  const weeks: number[] = [];
  for (let w = Math.floor(firstHour / WEEK_HOURS); w <= Math.floor(lastHour / WEEK_HOURS); w++) {
    weeks.push(w);
  }
  const pipe = redis.pipeline() as unknown as {
    callBuffer(...args: string[]): void;
    exec(): Promise<[Error | null, Uint8Array | null][]>;
  };
  for (const w of weeks) pipe.callBuffer("GET", storeKeys.log(id, w));
  const replies = await pipe.exec();
  const out: [Tally, Tally] = [newTally(), newTally()];
  weeks.forEach((week, k) => {
    const [err, log] = replies[k];
    if (err) throw err;
    if (!log) return;
    // Only the hours of this week inside the window count.
    const from = Math.max(0, firstHour - week * WEEK_HOURS);
    const to = Math.min(WEEK_HOURS - 1, lastHour - week * WEEK_HOURS);
    scanLog(log, from, to, (cp, received, type, by) => out[received ? 1 : 0].add(cp, type - 1, by));
  });
  return out;
}

function score(counts: Int32Array, at: number, w: Float64Array): number {
  let s = 0;
  for (let t = 0; t < TYPES.length; t++) s += counts[at + t] * w[t];
  return s;
}

/** Ranked counterparts of `did` in the window; undefined when the DID was never seen. */
export async function topInteractions(
  redis: Redis,
  did: string,
  options: TopOptions,
): Promise<Counterpart[] | undefined> {
  const id = await idOf(redis, did);
  if (id === undefined) return undefined;
  const weights = { ...DEFAULT_WEIGHTS, ...options.weights };
  const { direction, now } = options;
  const [sent, received] = await tallies(redis, id, options.windowHours, now);
  const w = Float64Array.from(TYPES, (t) => weights[t]);
  // One tally to rank, and for "mutual" the score of each side.
  let tally = direction === "received" ? received : sent;
  let scores: Float64Array;
  if (direction === "mutual") {
    tally = newTally();
    tally.merge(sent);
    tally.merge(received);
    scores = new Float64Array(tally.size);
    for (let s = 0; s < tally.size; s++) {
      const a = sent.slot.get(tally.ids[s]), b = received.slot.get(tally.ids[s]);
      scores[s] = a === undefined || b === undefined
        ? 0
        : Math.min(score(sent.counts, a * COLUMNS, w), score(received.counts, b * COLUMNS, w));
    }
  } else {
    if (direction === "both") tally.merge(received);
    scores = new Float64Array(tally.size);
    for (let s = 0; s < tally.size; s++) scores[s] = score(tally.counts, s * COLUMNS, w);
  }
  const order: number[] = [];
  for (let s = 0; s < tally.size; s++) if (scores[s] > 0) order.push(s);
  const ids = tally.ids;
  order.sort((a, b) => scores[b] - scores[a] || ids[a] - ids[b]);
  // Hidden accounts (and, when asked, blocked ones) never appear. They are rare, so look
  // at the best candidates first and further down only when some were left out.
  const top: number[] = [];
  for (let from = 0; from < order.length && top.length < options.limit;) {
    const chunk = order.slice(from, from + Math.max(options.limit * 2, 32));
    from += chunk.length;
    const members = chunk.map((s) => String(ids[s]));
    const pipe = redis.pipeline().smismember(storeKeys.hidden, ...members);
    if (options.excludeBlocked) {
      pipe.smismember(storeKeys.graph(id), ...members.map((m) => `-${m}`));
    }
    const flags = (await pipe.exec())!.map(([err, v]) => {
      if (err) throw err;
      return v as number[];
    });
    chunk.forEach((s, k) => {
      if (top.length < options.limit && flags.every((f) => f[k] === 0)) top.push(s);
    });
  }
  if (top.length === 0) return [];
  const dids = await didsOf(redis, top.map((s) => ids[s]));
  return top.map((s, k) => {
    const c: Counterpart = { did: dids[k]!, score: scores[s], ...zero() };
    TYPES.forEach((type, i) => c[type] = tally.counts[s * COLUMNS + i]);
    return c;
  });
}

/** Members per SMISMEMBER of the hidden set, and per SSCAN page of it. */
const HIDDEN_BATCH = 1000, HIDDEN_PAGE = 10_000;

/** Which of `ids` are hidden accounts (deleted, deactivated, taken down or opted out). */
export async function hiddenAmong(redis: Redis, ids: readonly number[]): Promise<Set<number>> {
  const out = new Set<number>();
  if (ids.length === 0) return out;
  const pipe = redis.pipeline();
  for (let i = 0; i < ids.length; i += HIDDEN_BATCH) {
    pipe.smismember(storeKeys.hidden, ...ids.slice(i, i + HIDDEN_BATCH).map(String));
  }
  (await pipe.exec())!.forEach(([err, flags], c) => {
    if (err) throw err;
    (flags as number[]).forEach((f, k) => f && out.add(ids[c * HIDDEN_BATCH + k]));
  });
  return out;
}

/**
 * Store ids as a bitmap, for a pass that asks about every log entry: a lookup is a shift
 * and a mask (a Set's hashing nearly doubles the pass). Its size is the largest id / 8
 * bytes, 32 MB at most as ids have 28 bits.
 */
export class IdBits {
  #bits: Uint8Array;
  readonly size: number;

  constructor(ids: readonly number[]) {
    this.#bits = new Uint8Array((ids.reduce((m, id) => Math.max(m, id), 0) >>> 3) + 1);
    for (const id of ids) this.#bits[id >>> 3] |= 1 << (id & 7);
    this.size = new Set(ids).size;
  }

  has(id: number): boolean {
    const at = id >>> 3;
    return at < this.#bits.length && (this.#bits[at] & (1 << (id & 7))) !== 0;
  }
}

/**
 * The ids of every hidden account, read a page at a time. For a pass over every account:
 * the set is small next to the accounts, so it is read once instead of asked per account.
 */
export async function hiddenIds(redis: Redis): Promise<IdBits> {
  const ids: number[] = [];
  let cursor = "0";
  do {
    const [next, members] = await redis.sscan(storeKeys.hidden, cursor, "COUNT", HIDDEN_PAGE);
    for (const m of members) ids.push(Number(m));
    cursor = next;
  } while (cursor !== "0");
  return new IdBits(ids);
}

/** Interaction counts by type, and blocks, of one direction. */
export type Totals = Counts & { block: number };

/**
 * Sent and received counts by type (and blocks made and received) in the window, with
 * hidden accounts left out as counterparts, as in topInteractions() and the top lists;
 * undefined when the DID was never seen.
 */
export async function totals(
  redis: Redis,
  did: string,
  windowHours: number,
  now: number,
): Promise<{ sent: Totals; received: Totals } | undefined> {
  const id = await idOf(redis, did);
  if (id === undefined) return undefined;
  const [sent, received] = await tallies(redis, id, windowHours, now);
  const hidden = await hiddenAmong(redis, [...new Set([...sent.ids, ...received.ids])]);
  const sum = (tally: Tally) => {
    const c: Totals = { ...zero(), block: 0 };
    for (let s = 0; s < tally.size; s++) {
      if (hidden.has(tally.ids[s])) continue;
      TYPES.forEach((type, i) => c[type] += tally.counts[s * COLUMNS + i]);
      c.block += tally.counts[s * COLUMNS + TYPES.length];
    }
    return c;
  };
  return { sent: sum(sent), received: sum(received) };
}

/** The status of an account that opted out, whatever the network says of it. */
export const OPTED_OUT = "opted_out";

/** A profile as the store knows it. */
export interface Profile {
  did: string;
  handle?: string;
  displayName?: string;
  avatar?: string;
  /** "active", the network's reason an account is not (deactivated, takendown…), or OPTED_OUT. */
  status?: string;
}

/** Profiles of the given DIDs (fields the store has; missing profiles give the DID only). */
export async function profiles(redis: Redis, dids: string[]): Promise<Profile[]> {
  if (dids.length === 0) return [];
  const ids = await redis.hmget(storeKeys.didToId, ...dids.map(didKey));
  const pipe = redis.pipeline();
  for (const id of ids) {
    pipe.hmget(
      storeKeys.profile(Number(id ?? -1)),
      "handle",
      "name",
      "avatar",
      "status",
      "optout",
    );
  }
  const rows = (await pipe.exec())!;
  return dids.map((did, k) => {
    const [handle, name, avatar, status, optout] = (rows[k][1] ?? []) as (string | null)[];
    const p: Profile = { did };
    if (handle) p.handle = handle;
    if (name) p.displayName = name;
    if (avatar) p.avatar = avatar;
    if (optout) p.status = OPTED_OUT;
    else if (status) p.status = status;
    return p;
  });
}

/** The DID whose current handle is `handle` (lowercase) in the store, if any. */
export async function didOfHandle(redis: Redis, handle: string): Promise<string | undefined> {
  const [member] = await redis.zrangebylex(
    storeKeys.handles,
    `[${handle}\0`,
    `[${handle}\0\xff`,
    "LIMIT",
    0,
    1,
  );
  if (!member) return undefined;
  return (await didsOf(redis, [member.slice(handle.length + 1)]))[0];
}

/** Handles starting with `prefix`, for typeahead: [handle, did] pairs, hidden accounts left out. */
export async function searchHandles(
  redis: Redis,
  prefix: string,
  limit = 10,
): Promise<{ handle: string; did: string }[]> {
  const p = prefix.toLowerCase();
  const members = await redis.zrangebylex(
    storeKeys.handles,
    `[${p}`,
    `[${p}\xff`,
    "LIMIT",
    0,
    limit * 2,
  );
  const pairs = members.map((m) => m.split("\0") as [string, string]);
  if (pairs.length === 0) return [];
  const hidden = await redis.smismember(storeKeys.hidden, ...pairs.map(([, id]) => id));
  const shown = pairs.filter((_, k) => hidden[k] === 0).slice(0, limit);
  if (shown.length === 0) return [];
  const dids = await didsOf(redis, shown.map(([, id]) => id));
  return shown.map(([handle], k) => ({ handle, did: dids[k]! }));
}
