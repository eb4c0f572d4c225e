/**
 * The global top lists: for each window and metric, the accounts with the most, from the
 * interaction logs. Every account's log holds what it sent and what it received, so one
 * pass over the logs of the weeks the window touches gives every account's totals; no
 * counterpart is tallied. Hidden accounts (deleted, deactivated, taken down, opted out)
 * count nowhere: their logs are not read and their entries in others' logs are skipped,
 * against the hidden set read once per run. Each list is written aside and renamed over the
 * previous one, so readers see the previous list until the new one is complete.
 */
import type { Buffer } from "node:buffer";
import {
  statsKeys,
  TOP_METRICS,
  TOP_WINDOWS,
  type TopSnapshot,
  type TopWindow,
} from "@bsky/shared/keys";
import { crossSlotPipeline, repliesOf } from "@bsky/shared/pipeline";
import { type Redis, scanKeys } from "@bsky/shared/redis";
import { CountTable, didsOf, hiddenIds, windowWeeks } from "@bsky/store/queries";
import { keyPrefix, scanLog, storeKeys } from "@bsky/store/layout";

export const WINDOW_HOURS: Record<TopWindow, number> = { "24h": 24, "7d": 168 };
/** Metrics in TOP_METRICS order: per interaction type, received then sent; then blocks. */
const METRICS = TOP_METRICS.length;
/** How long a snapshot is kept when no newer one replaces it. */
const SNAPSHOT_TTL_SECONDS = 7 * 86400;
const GET_BATCH = 1000;
/** What a log key starts with, before its account's id. */
const LOG_PREFIX = keyPrefix("log");

/** The column of TOP_METRICS an entry counts in, from the account's side. */
export function metricIndex(type: number, received: boolean): number {
  return (type - 1) * 2 + (received ? 0 : 1);
}

/** Totals per account: a row of METRICS columns each. */
type Totals = CountTable;

type BufferPipeline = {
  getBuffer(key: string): void;
  exec(): Promise<[Error | null, Buffer | null][]>;
};

/**
 * Sums every account's logs over each window, hidden accounts left out both as accounts and
 * as counterparts. Keys come from SCAN (of every master on a cluster) and their logs from
 * pipelined GETs, the next SCAN page overlapping the current GETs.
 */
export async function windowTotals(
  redis: Redis,
  windows: readonly TopWindow[],
  now: number,
): Promise<{ totals: Map<TopWindow, Totals>; logs: number; bytes: number; hidden: number }> {
  const hidden = await hiddenIds(redis);
  const totals = new Map(windows.map((w) => [w, new CountTable(METRICS, 1024)]));
  // Per week, the windows that read it and their hour ranges.
  const plan = new Map<number, { window: TopWindow; from: number; to: number }[]>();
  for (const window of windows) {
    for (const { week, from, to } of windowWeeks(WINDOW_HOURS[window], now)) {
      plan.set(week, [...plan.get(week) ?? [], { window, from, to }]);
    }
  }
  let logs = 0, bytes = 0;
  for (const [week, readers] of plan) {
    const pattern = storeKeys.log("*", week);
    for await (const found of scanKeys(redis, { match: pattern, count: GET_BATCH })) {
      const ids: number[] = [], keys: string[] = [];
      for (const key of found) {
        const id = Number(key.slice(LOG_PREFIX.length, key.indexOf("}")));
        if (hidden.has(id)) continue;
        ids.push(id);
        keys.push(key);
      }
      if (keys.length === 0) continue;
      // A page's logs are of many accounts: on a cluster, of one node's slots when it was
      // scanned, wherever they are when read.
      const pipe = crossSlotPipeline(redis) as unknown as BufferPipeline;
      for (const key of keys) pipe.getBuffer(key);
      const replies = await pipe.exec();
      for (let k = 0; k < keys.length; k++) {
        const [err, log] = replies[k];
        if (err) throw err;
        if (!log) continue;
        logs++;
        bytes += log.length;
        const id = ids[k];
        for (const { window, from, to } of readers) {
          const t = totals.get(window)!;
          let at = -1;
          scanLog(log, from, to, (cp, received, type, by) => {
            if (hidden.has(cp)) return;
            if (at < 0) at = t.row(id);
            t.counts[at + metricIndex(type, received)] += by;
          });
        }
      }
    }
  }
  return { totals, logs, bytes, hidden: hidden.size };
}

/** The `size` best accounts of one column: count descending, then id ascending; counts > 0. */
function best(t: Totals, column: number, size: number): number[] {
  // A bounded selection: keep the candidates above the running threshold, trim now and then.
  let pool: number[] = [];
  let threshold = 0;
  const counts = t.counts;
  const better = (a: number, b: number) =>
    counts[b * METRICS + column] - counts[a * METRICS + column] || t.ids[a] - t.ids[b];
  for (let s = 0; s < t.ids.length; s++) {
    const n = counts[s * METRICS + column];
    if (n <= 0 || n < threshold) continue;
    pool.push(s);
    if (pool.length >= size * 4) {
      pool.sort(better);
      pool = pool.slice(0, size);
      threshold = counts[pool[size - 1] * METRICS + column];
    }
  }
  return pool.sort(better).slice(0, size);
}

/** The top list of one column (hidden accounts have no row in the totals). */
async function topList(
  redis: Redis,
  t: Totals,
  column: number,
  size: number,
): Promise<{ did: string; count: number }[]> {
  const shown = best(t, column, size);
  if (shown.length === 0) return [];
  const dids = await didsOf(redis, shown.map((s) => t.ids[s]));
  return shown.map((s, k) => ({ did: dids[k]!, count: t.counts[s * METRICS + column] }))
    .filter((item) => item.did);
}

export interface TopListsOptions {
  size: number;
  windows?: readonly TopWindow[];
  now: number;
}

/** Computes every top list and replaces the stored snapshots. */
export async function computeTopLists(redis: Redis, options: TopListsOptions) {
  const { now } = options;
  const windows = options.windows ?? TOP_WINDOWS;
  const { totals, logs, bytes, hidden } = await windowTotals(redis, windows, now);
  const snapshots: TopSnapshot[] = [];
  for (const window of windows) {
    const t = totals.get(window)!;
    for (let column = 0; column < METRICS; column++) {
      const items = await topList(redis, t, column, options.size);
      snapshots.push({ metric: TOP_METRICS[column], window, computedAt: now, items });
    }
  }
  // Every list is complete: now replace them, each aside then renamed over the old one.
  const pipe = redis.pipeline();
  for (const s of snapshots) {
    const key = statsKeys.top(s.window, s.metric);
    pipe.set(`${key}:next`, JSON.stringify(s), "EX", SNAPSHOT_TTL_SECONDS);
    pipe.rename(`${key}:next`, key);
  }
  repliesOf(await pipe.exec());
  return {
    logs,
    bytes,
    hidden,
    accounts: Object.fromEntries([...totals].map(([w, t]) => [w, t.ids.length])),
    lists: snapshots.length,
  };
}
