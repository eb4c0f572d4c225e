/**
 * Who an account interacts with most by a scan of its window's logs: a pass over 5-byte
 * entries with no object per entry, then the best candidates that may be shown.
 */
import { crossSlotPipeline } from "@bsky/shared/pipeline";
import type { Redis } from "@bsky/shared/redis";
import { CountTable } from "./count_table.ts";
import type { WeekHead } from "./digest_reads.ts";
import { type Ranked, topBy, type TopOptions } from "./ranking.ts";
import { scanLog, storeKeys, TYPES } from "./layout.ts";
import { windowWeeks } from "./windows.ts";

/** Columns of a tally: the five interaction types, then blocks. */
export const COLUMNS = 6;

/** A tally of counterparts: the five interaction types, then blocks. */
export type Tally = CountTable;
export const newTally = () => new CountTable(COLUMNS);

/** Per counterpart, counts by type within the window: [sent, received]. */
export async function tallies(
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
export async function excludedAmong(
  redis: Redis,
  id: number,
  ids: number[],
  excludeBlocked?: boolean,
  skip?: TopOptions["skip"],
): Promise<boolean[]> {
  const members = ids.map(String);
  // The hidden set and the account's own set: two slots.
  const pipe = crossSlotPipeline(redis).smismember(storeKeys.hidden, ...members);
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

/** The ranking from a scan of the window's logs (those in `read` whole are not read again). */
export async function rankByScan(
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
  const ids = tally.ids;
  // Hidden accounts (and, when asked, blocked ones) never appear. They are rare, so look
  // at the best candidates first and further down only when some were left out. Only the
  // best are put in order (a heap), not every counterpart: sorting the 150,000 of a busy
  // account takes longer than the rest of the query.
  const page = Math.max(options.limit * 2, 32);
  let m = page;
  let order = topBy(scores, ids, m);
  const top: number[] = [];
  for (let from = 0; from < order.length && top.length < options.limit;) {
    const chunk = order.slice(from, from + page);
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
    // The best m are used up and some may be below: the best 4m, in the same order.
    if (from === order.length && order.length === m && top.length < options.limit) {
      m *= 4;
      order = topBy(scores, ids, m);
    }
  }
  return top.map((s) => ({
    id: ids[s],
    score: scores[s],
    counts: TYPES.map((_, i) => tally.counts[s * COLUMNS + i]),
  }));
}
