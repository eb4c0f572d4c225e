/**
 * The best counterparts of a heavy account from its day digests (digest.ts), with the
 * answer a scan of its logs gives. A window counts, in each week, the day cells of the
 * days scanLog counts whole and the hour cells and entries of its hours. The digests give
 * the day cells, and the hour cells of the days whose hour cells are all in the window;
 * the logs give the rest as they are: the hour cells of a day the window starts in (not
 * rolled up yet) and the entries appended since the last roll-up.
 *
 * The merge is a threshold algorithm. Each digested day and direction is a list ranked by
 * score at the digest's weights; its head is read, and a counterpart it leaves out scores
 * at most its bound there (at any other weights w, at most the bound times the largest
 * w / weight). So every counterpart has a lower bound (what is known of it) and an upper
 * bound (that plus the bounds of the lists it was not seen in). The limit-th best lower
 * bound among the accounts that may be shown is a score the answer reaches; counterparts
 * whose upper bound reaches it get their missing days read from the digests' buckets (by
 * id), and are then ranked on exact counts. Any other counterpart, and any never seen,
 * scores below it. When the bounds cannot settle the answer (too many counterparts to
 * read, a bound as high as the answer, a digest that changed while read), the caller scans
 * the logs instead: the answer is the same either way, only its cost differs.
 */
import type { Redis } from "@bsky/shared/redis";
import { Candidates, COLUMNS, EXACT, HEAD } from "./digest_candidates.ts";
import {
  CODES,
  decodeHeads,
  decodeIndex,
  digestFields,
  type DigestIndex,
  readRecords,
} from "./digest.ts";
import {
  type Day,
  inMulti,
  readWeekHeads,
  sameBytes,
  type Week,
  type WeekHead,
} from "./digest_reads.ts";
import { mergeCounts, settle } from "./digest_settle.ts";
import type { DigestQuery, Ranked } from "./ranking.ts";
import { firstHourCellDay, rolledLength, scanLog, storeKeys } from "./layout.ts";
import { daysCounted } from "./log.ts";

export { mergeCounts } from "./digest_settle.ts";
export type { DigestDirection, DigestQuery, Ranked } from "./ranking.ts";
export { PREFIX_BYTES, readWeekHeads, type WeekHead } from "./digest_reads.ts";

const TRIES = 3;

/**
 * The best counterparts of account `id` from its digests, or undefined when the logs must
 * be scanned instead (no week of the window is digested, or the bounds do not settle it).
 */
export async function rankByDigests(
  redis: Redis,
  id: number,
  weeks: readonly Week[],
  heads: WeekHead[],
  q: DigestQuery,
): Promise<Ranked[] | undefined> {
  if (!heads.some((h) => decodeIndex(h.index))) return undefined;
  if (q.weights.some((w) => !(w >= 0) || !Number.isFinite(w))) return undefined;
  for (let attempt = 0; attempt < TRIES; attempt++) {
    if (attempt > 0) heads = await readWeekHeads(redis, id, weeks);
    const out = await attemptMerge(redis, id, weeks, heads, q);
    if (out === "changed") continue;
    if (out) mergeCounts.settled++;
    else mergeCounts.leftToScan++;
    return out;
  }
  mergeCounts.leftToScan++;
  return undefined;
}

/** One merge, or "changed" when a digest changed while it was read. */
async function attemptMerge(
  redis: Redis,
  id: number,
  weeks: readonly Week[],
  heads: WeekHead[],
  q: DigestQuery,
): Promise<Ranked[] | undefined | "changed"> {
  const w = q.weights;
  const table = new Candidates();
  const tally = (cp: number, received: boolean, type: number, by: number) => {
    if (type > 5) return;
    // The row first: making it may replace `counts`.
    const at = table.row(cp) * COLUMNS + EXACT;
    table.counts[at + (received ? 5 : 0) + type - 1] += by;
  };
  // What to read next, week by week: heads of digested days, whole logs or their tails.
  const calls: (string | number)[][] = [];
  // Each week's plan, with where its replies are (-1: none).
  const plan: {
    k: number;
    days: number[];
    /** Days in hour cells whose digest counts for them. */
    covered: number;
    log: "whole" | "tail" | "prefix" | "none";
    headsAt: number;
    logAt: number;
  }[] = [];
  const days: Day[] = [];
  const indexes: (DigestIndex | undefined)[] = [];
  for (const [k, { week, from, to }] of weeks.entries()) {
    const h = heads[k], index = decodeIndex(h.index);
    indexes.push(index);
    const complete = h.prefix !== null && h.prefix.length === h.length;
    if (!index) {
      // Not digested: scanned whole, from what was read when that is all of it.
      const log = h.length === 0 ? "none" : complete ? "prefix" : "whole";
      const logAt = log === "whole" ? calls.length : -1;
      plan.push({ k, days: [], covered: 0, log, headsAt: -1, logAt });
      if (log === "whole") calls.push(["GET", storeKeys.log(id, week)]);
      continue;
    }
    const rolled = h.prefix ? rolledLength(h.prefix) : 0;
    if (h.length > 0 && rolled !== index.rolled) return undefined;
    if (w.some((x, t) => x > 0 && !(index.weights[t] > 0))) return undefined;
    // Digested days the window counts: rolled-up ones as scanLog counts their day cells,
    // the others (in hour cells) only when all their hour cells are in the window.
    let whole = 0;
    for (let d = 0; d < 7; d++) {
      if (from <= d * 24 && Math.min(d * 24 + 23, index.lastHour) <= to) whole |= 1 << d;
    }
    const rolledDays = index.days & ~index.hourDays;
    const covered = index.hourDays & whole;
    const counted = h.length > 0 ? (daysCounted(from, to) & rolledDays) | covered : 0;
    if (counted & index.unusable) return undefined;
    const want: number[] = [];
    for (let d = 0; d < 7; d++) if (counted & (1 << d)) want.push(d);
    const headsAt = calls.length;
    calls.push([
      "HMGET",
      storeKeys.digest(id, week),
      digestFields.index,
      ...want.map(digestFields.heads),
    ]);
    const logAt = calls.length;
    // Hour cells the window counts and no digest has (those of the days not over, or
    // partly in the window) sit in the rolled-up part among the day cells: the whole log.
    const hourDay = h.prefix ? firstHourCellDay(h.prefix) : -1;
    let hours = false;
    for (let d = Math.max(0, hourDay); hourDay >= 0 && d < 7; d++) {
      if (!(covered & (1 << d)) && d * 24 <= to && d * 24 + 23 >= from) hours = true;
    }
    let log: "whole" | "tail" | "prefix" | "none" = "none";
    if (complete && (hours || h.length > rolled)) log = "prefix";
    else if (hours) {
      log = "whole";
      calls.push(["GET", storeKeys.log(id, week)]);
    } else if (h.length > rolled) {
      log = "tail";
      calls.push(["GETRANGE", storeKeys.log(id, week), rolled, -1]);
    }
    plan.push({
      k,
      days: want,
      covered,
      log,
      headsAt,
      logAt: logAt < calls.length ? logAt : -1,
    });
  }
  const replies = calls.length ? await inMulti(redis, calls) : [];
  // The lists: for each digested day, its two heads.
  const dir = new Int32Array(CODES);
  for (const p of plan) {
    const { week } = weeks[p.k];
    const h = heads[p.k], index = indexes[p.k];
    if (index) {
      const got = replies[p.headsAt] as (Uint8Array | null)[];
      if (!sameBytes(got[0], h.index)) return "changed";
      // At the query's weights a counterpart scores at most this times its ranked score.
      let ratio = 0;
      w.forEach((x, t) => ratio = Math.max(ratio, x / index.weights[t]));
      p.days.forEach((d, j) => {
        const bytes = got[1 + j];
        if (!bytes) throw new Error(`The digest of week ${week} has no day ${d}`);
        const parsed = decodeHeads(bytes);
        const bound: [number, number] = [parsed.bounds[0] * ratio, parsed.bounds[1] * ratio];
        days.push({
          week,
          day: d,
          bound,
          buckets: index.buckets[d],
          index: h.index!,
          heads: parsed,
        });
        for (const side of [0, 1] as const) {
          const [start, end] = parsed.ranges[side];
          readRecords(bytes, start, end, dir, (cp) => {
            const r = table.row(cp), at = r * COLUMNS + HEAD + side * 5;
            for (let t = 0; t < 5; t++) table.counts[at + t] += dir[side * 5 + t];
            table.seenBound[2 * r + side] += bound[side];
          });
        }
      });
    }
  }
  for (const p of plan) {
    const { from, to } = weeks[p.k];
    const h = heads[p.k], index = indexes[p.k];
    if (p.log === "none") continue;
    const log = p.log === "prefix" ? h.prefix! : replies[p.logAt] as Uint8Array | null;
    if (!log) continue;
    if (!index) scanLog(log, from, to, tally);
    else if (p.log === "tail") scanLog(log, from, to, tally);
    else {
      if (rolledLength(log) !== index.rolled) return "changed";
      scanLog(log, from, to, tally, { dayCells: true, hourCellDays: p.covered });
    }
  }
  return await settle(redis, id, q, table, days);
}
