/**
 * Who an account interacts with most, and its totals, from its interaction logs. Cost:
 * one read of the window's weeks, then a pass over 5-byte entries with no object per
 * entry; for a heavy account, a merge of its day digests with the logs' last hours
 * instead (digest_top.ts), which gives the same answer.
 */
import type { Redis } from "@bsky/shared/redis";
import { CountTable } from "./count_table.ts";
import { hiddenAmong } from "./hidden.ts";
import { didsOf, idOf } from "./ids.ts";
import { rankByDigests, type Ranked, readWeekHeads, type WeekHead } from "./digest_top.ts";
import { HOUR_MS, type InteractionType, scanLog, storeKeys, TYPES, WEEK_HOURS } from "./layout.ts";

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
  /**
   * Leaves out more candidates (store ids, asked in rank order, a chunk at a time) before
   * the top is cut to `limit`: see circle_filters.ts.
   */
  skip?: (ids: readonly number[]) => Promise<readonly boolean[]>;
  /** The instant the window ends in (its hour is the window's last). */
  now: number;
}

export type Counts = Record<InteractionType, number>;

export interface Counterpart extends Counts {
  did: string;
  score: number;
}

/** Interaction counts by type, and blocks, of one direction. */
export type Totals = Counts & { block: number };

/** Columns of a tally: the five interaction types, then blocks. */
const COLUMNS = 6;

/** A tally of counterparts: the five interaction types, then blocks. */
type Tally = CountTable;
const newTally = () => new CountTable(COLUMNS);

function zero(): Counts {
  return { like: 0, repost: 0, reply: 0, quote: 0, mention: 0 };
}

/**
 * The span a window of `windowHours` counts at `now`: whole hours, ending with the hour
 * `now` is in (what the queries count, for answers that say what they cover).
 */
export function windowRange(windowHours: number, now: number): { from: Date; to: Date } {
  const to = (Math.floor(now / HOUR_MS) + 1) * HOUR_MS;
  return { from: new Date(to - windowHours * HOUR_MS), to: new Date(to) };
}

/**
 * The weeks whose logs a window of `windowHours` ending in the hour of `now` reads, each
 * with the hours of that week inside the window.
 */
export function windowWeeks(
  windowHours: number,
  now: number,
): { week: number; from: number; to: number }[] {
  const lastHour = Math.floor(now / HOUR_MS), firstHour = lastHour - windowHours + 1;
  const out = [];
  for (let w = Math.floor(firstHour / WEEK_HOURS); w <= Math.floor(lastHour / WEEK_HOURS); w++) {
    out.push({
      week: w,
      from: Math.max(0, firstHour - w * WEEK_HOURS),
      to: Math.min(WEEK_HOURS - 1, lastHour - w * WEEK_HOURS),
    });
  }
  return out;
}

/** Per counterpart, counts by type within the window: [sent, received]. */
async function tallies(
  redis: Redis,
  id: number,
  windowHours: number,
  now: number,
  read?: readonly WeekHead[],
): Promise<[Tally, Tally]> {
  const weeks = windowWeeks(windowHours, now);
  const pipe = redis.pipeline() as unknown as {
    callBuffer(...args: string[]): void;
    exec(): Promise<[Error | null, Uint8Array | null][]>;
  };
  // A log read whole already is not read again.
  const whole = (k: number) => read && read[k].length === (read[k].prefix?.length ?? 0);
  weeks.forEach(({ week }, k) => whole(k) || pipe.callBuffer("GET", storeKeys.log(id, week)));
  const replies = await pipe.exec();
  const out: [Tally, Tally] = [newTally(), newTally()];
  let at = 0;
  weeks.forEach(({ from, to }, k) => {
    let log: Uint8Array | null;
    if (whole(k)) log = read![k].prefix;
    else {
      const [err, got] = replies[at++];
      if (err) throw err;
      log = got;
    }
    if (!log) return;
    // Only the hours of this week inside the window count.
    scanLog(log, from, to, (cp, received, type, by) => out[received ? 1 : 0].add(cp, type - 1, by));
  });
  return out;
}

function score(counts: Int32Array, at: number, w: readonly number[]): number {
  let s = 0;
  for (let t = 0; t < TYPES.length; t++) s += counts[at + t] * w[t];
  return s;
}

/**
 * Which of `ids` may not be shown to `id`: hidden accounts, blocked ones when asked, then
 * those the caller's `skip` leaves out among the rest.
 */
async function excludedAmong(
  redis: Redis,
  id: number,
  ids: number[],
  excludeBlocked?: boolean,
  skip?: TopOptions["skip"],
): Promise<boolean[]> {
  const members = ids.map(String);
  const pipe = redis.pipeline().smismember(storeKeys.hidden, ...members);
  if (excludeBlocked) pipe.smismember(storeKeys.graph(id), ...members.map((m) => `-${m}`));
  const flags = (await pipe.exec())!.map(([err, v]) => {
    if (err) throw err;
    return v as number[];
  });
  const out = ids.map((_, k) => flags.some((f) => f[k] !== 0));
  if (!skip) return out;
  const skipped = await skip(ids.filter((_, k) => !out[k]));
  let j = 0;
  return out.map((x) => x || skipped[j++]);
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
  const w = TYPES.map((t) => weights[t]);
  const weeks = windowWeeks(options.windowHours, options.now);
  // The first read tells a heavy account's digested weeks; an ordinary account's logs are
  // whole in it.
  const read = await readWeekHeads(redis, id, weeks);
  const ranked = await rankByDigests(redis, id, weeks, read, {
    ...options,
    weights: w,
    excluded: (ids) => excludedAmong(redis, id, ids, options.excludeBlocked, options.skip),
  }) ?? await rankByScan(redis, id, options, w, read);
  return await named(redis, ranked);
}

/**
 * topInteractions() from the day digests alone: undefined when the DID was never seen or
 * the digests cannot settle the answer (topInteractions() then scans the logs).
 */
export async function topInteractionsByDigests(
  redis: Redis,
  did: string,
  options: TopOptions,
): Promise<Counterpart[] | undefined> {
  const id = await idOf(redis, did);
  if (id === undefined) return undefined;
  const weights = { ...DEFAULT_WEIGHTS, ...options.weights };
  const weeks = windowWeeks(options.windowHours, options.now);
  const ranked = await rankByDigests(redis, id, weeks, await readWeekHeads(redis, id, weeks), {
    ...options,
    weights: TYPES.map((t) => weights[t]),
    excluded: (ids) => excludedAmong(redis, id, ids, options.excludeBlocked, options.skip),
  });
  return ranked && await named(redis, ranked);
}

/** topInteractions() by a scan of every log of the window, whatever the account. */
export async function topInteractionsByScan(
  redis: Redis,
  did: string,
  options: TopOptions,
): Promise<Counterpart[] | undefined> {
  const id = await idOf(redis, did);
  if (id === undefined) return undefined;
  const weights = { ...DEFAULT_WEIGHTS, ...options.weights };
  return await named(redis, await rankByScan(redis, id, options, TYPES.map((t) => weights[t])));
}

/** Ranked counterparts with their DIDs. */
async function named(redis: Redis, ranked: Ranked[]): Promise<Counterpart[]> {
  if (ranked.length === 0) return [];
  const dids = await didsOf(redis, ranked.map((r) => r.id));
  return ranked.map((r, k) => {
    const c: Counterpart = { did: dids[k]!, score: r.score, ...zero() };
    TYPES.forEach((type, i) => c[type] = r.counts[i]);
    return c;
  });
}

/** The ranking from a scan of the window's logs (those in `read` whole are not read again). */
async function rankByScan(
  redis: Redis,
  id: number,
  options: TopOptions,
  w: readonly number[],
  read?: readonly WeekHead[],
): Promise<Ranked[]> {
  const { direction, now } = options;
  const [sent, received] = await tallies(redis, id, options.windowHours, now, read);
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
    const flags = await excludedAmong(
      redis,
      id,
      chunk.map((s) => ids[s]),
      options.excludeBlocked,
      options.skip,
    );
    chunk.forEach((s, k) => {
      if (top.length < options.limit && !flags[k]) top.push(s);
    });
  }
  return top.map((s) => ({
    id: ids[s],
    score: scores[s],
    counts: TYPES.map((_, i) => tally.counts[s * COLUMNS + i]),
  }));
}

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
