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
import {
  bucketOf,
  CODES,
  decodeHeads,
  decodeIndex,
  digestFields,
  type DigestIndex,
  type Heads,
  readRecords,
} from "./digest.ts";
import { firstHourCellDay, rolledLength, scanLog, storeKeys } from "./layout.ts";
import { daysCounted } from "./log.ts";

export type DigestDirection = "sent" | "received" | "both" | "mutual";

/** A ranked counterpart: its id, score and its counts of the direction asked. */
export interface Ranked {
  id: number;
  score: number;
  counts: number[];
}

export interface DigestQuery {
  direction: DigestDirection;
  windowHours: number;
  limit: number;
  /** Weights of the five types, in TYPES order. */
  weights: readonly number[];
  now: number;
  /** Which of the ids may not be shown (hidden, or blocked when asked). */
  excluded: (ids: number[]) => Promise<boolean[]>;
}

/**
 * What the merges did in this process (for metrics and tests): answers settled from the
 * digests, those left to the scan, and the counterpart-days read from buckets.
 */
export const mergeCounts = { settled: 0, leftToScan: 0, bucketReads: 0 };

/** Bytes of each log read before knowing whether the account is digested. */
export const PREFIX_BYTES = 64 * 1024;
/** Counterpart-days read from buckets at most, before the logs are scanned instead. */
const MAX_LOOKUPS = 20_000;
const TRIES = 3;

/**
 * Per counterpart, in an open-addressing table (no object per id): COLUMNS integer counts
 * (what the logs hold in the window, then what the heads hold, CODES each) and the bounds
 * of the lists the heads showed it in (one per direction).
 */
const EXACT = 0, HEAD = CODES, COLUMNS = 2 * CODES;
class Candidates {
  #keys = new Int32Array(1024).fill(-1);
  #rows = new Int32Array(1024);
  #mask = 1023;
  ids: number[] = [];
  counts = new Int32Array(64 * COLUMNS);
  seenBound = new Float64Array(64 * 2);

  /** The row of `id` (made when new): its counts start at row * COLUMNS. */
  row(id: number): number {
    let h = (Math.imul(id, 0x9e3779b1) >>> 0) & this.#mask;
    while (true) {
      const k = this.#keys[h];
      if (k === id) return this.#rows[h];
      if (k === -1) break;
      h = (h + 1) & this.#mask;
    }
    const s = this.ids.length;
    this.#keys[h] = id;
    this.#rows[h] = s;
    this.ids.push(id);
    if (this.counts.length < (s + 1) * COLUMNS) {
      const grown = new Int32Array(this.counts.length * 2);
      grown.set(this.counts);
      this.counts = grown;
      const bounds = new Float64Array(this.seenBound.length * 2);
      bounds.set(this.seenBound);
      this.seenBound = bounds;
    }
    if (this.ids.length * 2 > this.#mask) this.#grow();
    return s;
  }

  #grow() {
    const size = (this.#mask + 1) * 2;
    this.#keys = new Int32Array(size).fill(-1);
    this.#rows = new Int32Array(size);
    this.#mask = size - 1;
    this.ids.forEach((id, s) => {
      let h = (Math.imul(id, 0x9e3779b1) >>> 0) & this.#mask;
      while (this.#keys[h] !== -1) h = (h + 1) & this.#mask;
      this.#keys[h] = id;
      this.#rows[h] = s;
    });
  }

  get size(): number {
    return this.ids.length;
  }
}

interface Week {
  week: number;
  from: number;
  to: number;
}

/** One digested day of the window and what was read of it. */
interface Day {
  week: number;
  day: number;
  /** Bound of each direction past its head, at the query's weights. */
  bound: [number, number];
  /** The digest's bucket count that day, and its index as read first. */
  buckets: number;
  index: Uint8Array;
  heads: Heads;
}

type Multi = {
  callBuffer(...args: (string | number)[]): void;
  exec(): Promise<[Error | null, unknown][] | null>;
};

async function inMulti(redis: Redis, calls: (string | number)[][]): Promise<unknown[]> {
  const multi = redis.multi() as unknown as Multi;
  for (const call of calls) multi.callBuffer(...call);
  const replies = await multi.exec();
  if (!replies) throw new Error("A read of the digests was aborted");
  return replies.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}

/** What the first read of a window's weeks gives: the index, the log's start and length. */
export interface WeekHead {
  index: Uint8Array | null;
  prefix: Uint8Array | null;
  length: number;
}

/** The first read of a window: each week's digest index, its log's first bytes and length. */
export async function readWeekHeads(
  redis: Redis,
  id: number,
  weeks: readonly Week[],
): Promise<WeekHead[]> {
  const calls: (string | number)[][] = [];
  for (const { week } of weeks) {
    calls.push(["HGET", storeKeys.digest(id, week), digestFields.index]);
    calls.push(["GETRANGE", storeKeys.log(id, week), 0, PREFIX_BYTES - 1]);
    calls.push(["STRLEN", storeKeys.log(id, week)]);
  }
  const r = await inMulti(redis, calls);
  return weeks.map((_, k) => {
    const prefix = r[3 * k + 1] as Uint8Array;
    return {
      index: r[3 * k] as Uint8Array | null,
      prefix: prefix.length ? prefix : null,
      length: r[3 * k + 2] as number,
    };
  });
}

const sameBytes = (a: Uint8Array | null, b: Uint8Array | null) =>
  a === b || (!!a && !!b && a.length === b.length && a.every((x, k) => x === b[k]));

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

/** A score at weights w of five counts at `at`. */
function scoreOf(counts: ArrayLike<number>, at: number, w: readonly number[]): number {
  let s = 0;
  for (let t = 0; t < 5; t++) s += counts[at + t] * w[t];
  return s;
}

/** The score a direction ranks by, from sent and received scores. */
function combine(direction: DigestDirection, sent: number, received: number): number {
  if (direction === "sent") return sent;
  if (direction === "received") return received;
  if (direction === "both") return sent + received;
  return Math.min(sent, received);
}

/** Ranks on the bounds, reads what they leave open, and ranks on exact counts. */
async function settle(
  redis: Redis,
  id: number,
  q: DigestQuery,
  table: Candidates,
  days: Day[],
): Promise<Ranked[] | undefined | "changed"> {
  const w = q.weights, { ids, counts, seenBound } = table;
  const total: [number, number] = [0, 0];
  for (const d of days) (total[0] += d.bound[0], total[1] += d.bound[1]);
  // Bounds of every counterpart with counts in the logs or seen in a head.
  const n = table.size;
  const lower = new Float64Array(n), upper = new Float64Array(n);
  const known = new Int32Array(CODES);
  for (let c = 0; c < n; c++) {
    const at = c * COLUMNS;
    for (let k = 0; k < CODES; k++) known[k] = counts[at + EXACT + k] + counts[at + HEAD + k];
    const sent = scoreOf(known, 0, w), received = scoreOf(known, 5, w);
    lower[c] = combine(q.direction, sent, received);
    upper[c] = combine(
      q.direction,
      sent + total[0] - seenBound[2 * c],
      received + total[1] - seenBound[2 * c + 1],
    );
  }
  const unseen = combine(q.direction, total[0], total[1]);
  // The limit-th best lower bound among the accounts that may be shown.
  const excludedOf = new Map<number, boolean>();
  const check = async (cs: number[]) => {
    const ask = cs.filter((c) => !excludedOf.has(ids[c]));
    if (ask.length === 0) return;
    const flags = await q.excluded(ask.map((c) => ids[c]));
    ask.forEach((c, k) => excludedOf.set(ids[c], flags[k]));
  };
  let theta = 0;
  for (let m = Math.max(2 * q.limit, 32);; m *= 4) {
    const best = topBy(lower, ids, m);
    await check(best);
    const shown = best.filter((c) => !excludedOf.get(ids[c]));
    if (shown.length >= q.limit) {
      theta = lower[shown[q.limit - 1]];
      break;
    }
    if (best.length < m) break;
  }
  const slack = 1e-9 * Math.max(1, Math.abs(theta));
  if (theta > 0 ? unseen >= theta - slack : unseen > 0) return undefined;
  // The counterparts that may reach theta.
  const open = new Map<number, number>(); // id → row
  for (let c = 0; c < n; c++) {
    if (theta > 0 ? upper[c] < theta - slack : upper[c] <= 0) continue;
    if (!excludedOf.get(ids[c])) open.set(ids[c], c);
  }
  // Which heads showed them (a bit per list and direction), and the days to read by id.
  const shownIn = new Map<number, number[]>();
  const dir = new Int32Array(CODES);
  days.forEach((d, list) => {
    for (const side of [0, 1]) {
      const [start, end] = d.heads.ranges[side];
      readRecords(d.heads.bytes, start, end, dir, (cp) => {
        if (!open.has(cp)) return;
        let lists = shownIn.get(cp);
        if (!lists) shownIn.set(cp, lists = new Array<number>(days.length).fill(0));
        lists[list] |= 1 << side;
      });
    }
  });
  const lookups: [number, number][] = []; // [list, counterpart]
  for (const cp of open.keys()) {
    const lists = shownIn.get(cp);
    days.forEach((d, list) => {
      const sides = lists?.[list] ?? 0;
      if ((d.bound[0] > 0 && !(sides & 1)) || (d.bound[1] > 0 && !(sides & 2))) {
        lookups.push([list, cp]);
      }
    });
    if (lookups.length > MAX_LOOKUPS) return undefined;
  }
  mergeCounts.bucketReads += lookups.length;
  const dayCounts = await readBuckets(redis, id, days, lookups);
  if (dayCounts === "changed") return "changed";
  // Exact counts of the open counterparts, ranked as the scan ranks them.
  const ranked: Ranked[] = [];
  for (const [cp, c] of open) {
    const at = c * COLUMNS;
    const all = new Array<number>(CODES);
    for (let k = 0; k < CODES; k++) all[k] = counts[at + EXACT + k] + counts[at + HEAD + k];
    const lists = shownIn.get(cp);
    for (let list = 0; list < days.length; list++) {
      const got = dayCounts.get(`${list}:${cp}`);
      if (got === undefined) continue;
      // The bucket has the day's counts of both directions; the heads gave some already.
      const sides = lists?.[list] ?? 0;
      for (let k = 0; k < CODES; k++) if (!(sides & (1 << (k < 5 ? 0 : 1)))) all[k] += got[k];
    }
    const sent = scoreOf(all, 0, w), received = scoreOf(all, 5, w);
    let score: number, out: number[];
    if (q.direction === "sent") (score = sent, out = all.slice(0, 5));
    else if (q.direction === "received") (score = received, out = all.slice(5));
    else {
      out = all.slice(0, 5).map((x, t) => x + all[5 + t]);
      score = q.direction === "both" ? scoreOf(out, 0, w) : Math.min(sent, received);
    }
    if (score > 0) ranked.push({ id: cp, score, counts: out });
  }
  ranked.sort((a, b) => b.score - a.score || a.id - b.id);
  // The first `limit` that may be shown.
  const top: Ranked[] = [];
  for (let from = 0; from < ranked.length && top.length < q.limit;) {
    const chunk = ranked.slice(from, from + Math.max(2 * q.limit, 32));
    from += chunk.length;
    const ask = chunk.filter((r) => !excludedOf.has(r.id));
    if (ask.length) {
      const flags = await q.excluded(ask.map((r) => r.id));
      ask.forEach((r, k) => excludedOf.set(r.id, flags[k]));
    }
    for (const r of chunk) if (top.length < q.limit && !excludedOf.get(r.id)) top.push(r);
  }
  return top;
}

/** Indices of the m largest values (ties by smaller id), best first. */
function topBy(values: Float64Array, ids: number[], m: number): number[] {
  const better = (a: number, b: number) =>
    values[a] > values[b] || (values[a] === values[b] && ids[a] < ids[b]);
  // A min-heap of the best m so far: its root is the worst of them.
  const heap: number[] = [];
  const down = (i: number) => {
    while (true) {
      const l = 2 * i + 1, r = l + 1;
      let worst = i;
      if (l < heap.length && better(heap[worst], heap[l])) worst = l;
      if (r < heap.length && better(heap[worst], heap[r])) worst = r;
      if (worst === i) return;
      [heap[i], heap[worst]] = [heap[worst], heap[i]];
      i = worst;
    }
  };
  for (let c = 0; c < values.length; c++) {
    if (!(values[c] > 0)) continue;
    if (heap.length < m) {
      heap.push(c);
      for (let i = heap.length - 1; i > 0;) {
        const p = (i - 1) >> 1;
        if (!better(heap[p], heap[i])) break;
        [heap[p], heap[i]] = [heap[i], heap[p]];
        i = p;
      }
    } else if (better(c, heap[0])) {
      heap[0] = c;
      down(0);
    }
  }
  return heap.sort((a, b) => (better(a, b) ? -1 : 1));
}

/**
 * Reads the buckets of the counterpart-days asked, with each digest's index to check that
 * it did not change since first read: returns the counts of each (`<list>:<id>`; zeros
 * when the counterpart has none that day).
 */
async function readBuckets(
  redis: Redis,
  id: number,
  days: Day[],
  lookups: [number, number][],
): Promise<Map<string, number[]> | "changed"> {
  const out = new Map<string, number[]>();
  if (lookups.length === 0) return out;
  // By week, each bucket once, with the lookups it answers.
  const byWeek = new Map<number, { index: Uint8Array; fields: Map<string, [number, number][]> }>();
  for (const [list, cp] of lookups) {
    const d = days[list];
    let week = byWeek.get(d.week);
    if (!week) byWeek.set(d.week, week = { index: d.index, fields: new Map() });
    const field = digestFields.bucket(d.day, bucketOf(cp, d.buckets));
    const asked = week.fields.get(field);
    if (asked) asked.push([list, cp]);
    else week.fields.set(field, [[list, cp]]);
  }
  const weeks = [...byWeek];
  const replies = await inMulti(
    redis,
    weeks.map(([week, { fields }]) => [
      "HMGET",
      storeKeys.digest(id, week),
      digestFields.index,
      ...fields.keys(),
    ]),
  );
  const row = new Int32Array(CODES);
  for (const [k, [week, { index, fields }]] of weeks.entries()) {
    const got = replies[k] as (Uint8Array | null)[];
    if (!sameBytes(got[0], index)) return "changed";
    [...fields.values()].forEach((asked, f) => {
      const bytes = got[1 + f];
      if (!bytes) throw new Error(`A bucket of the digest of week ${week} is missing`);
      const found = new Map<number, number[]>();
      readRecords(bytes, 0, bytes.length, row, (cp) => found.set(cp, [...row]));
      for (const [list, cp] of asked) {
        out.set(`${list}:${cp}`, found.get(cp) ?? new Array<number>(CODES).fill(0));
      }
    });
  }
  return out;
}
