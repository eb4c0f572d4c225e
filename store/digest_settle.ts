/**
 * The end of a merge of day digests (digest_top.ts): the bounds of what was seen rank the
 * counterparts, those that may still reach the answer get their missing days read from
 * the digests' buckets, and the answer is ranked on exact counts.
 */
import type { Redis } from "@bsky/shared/redis";
import { type Candidates, COLUMNS, EXACT, HEAD } from "./digest_candidates.ts";
import { CODES, readRecords } from "./digest.ts";
import { type Day, readBuckets } from "./digest_reads.ts";
import { type DigestDirection, type DigestQuery, type Ranked, topBy } from "./ranking.ts";

/**
 * What the merges did in this process (for metrics and tests): answers settled from the
 * digests, those left to the scan, and the counterpart-days read from buckets.
 */
export const mergeCounts = { settled: 0, leftToScan: 0, bucketReads: 0 };

/** Counterpart-days read from buckets at most, before the logs are scanned instead. */
const MAX_LOOKUPS = 20_000;

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
export async function settle(
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
