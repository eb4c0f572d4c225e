/**
 * Where a plain scan of an account's window spends its time (what a circles query does for
 * an account without day digests): fetching the window's logs (a GET per week), then
 * tallying their entries per counterpart (scanLog into CountTables); medians over `n` runs,
 * with the bytes read, the entries visited, the rows tallied and the people the window holds.
 * @module
 */
import type { Redis } from "@bsky/shared/redis";
import { CountTable } from "../count_table.ts";
import { scanLog, storeKeys } from "../layout.ts";
import { windowWeeks } from "../windows.ts";
import { percentile } from "./probe.ts";

export interface ScanParts {
  fetchMs: number;
  tallyMs: number;
  bytes: number;
  visits: number;
  rows: number;
  people: number;
}

export async function scanParts(
  redis: Redis,
  id: number,
  windowHours: number,
  now: number,
  n: number,
): Promise<ScanParts> {
  const weeks = windowWeeks(windowHours, now);
  const fetchMs: number[] = [], tallyMs: number[] = [];
  let bytes = 0, visits = 0, rows = 0, people = 0;
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const logs = await Promise.all(weeks.map((w) => redis.getBuffer(storeKeys.log(id, w.week))));
    const t1 = performance.now();
    const tally = [new CountTable(6), new CountTable(6)];
    bytes = visits = 0;
    logs.forEach((log, k) => {
      if (!log) return;
      bytes += log.length;
      scanLog(log, weeks[k].from, weeks[k].to, (cp, received, type, by) => {
        visits++;
        tally[received ? 1 : 0].add(cp, type - 1, by);
      });
    });
    tallyMs.push(performance.now() - t1);
    fetchMs.push(t1 - t0);
    rows = tally[0].size + tally[1].size;
    people = new Set([...tally[0].ids, ...tally[1].ids]).size;
  }
  fetchMs.sort((a, b) => a - b);
  tallyMs.sort((a, b) => a - b);
  return {
    fetchMs: percentile(fetchMs, 0.5),
    tallyMs: percentile(tallyMs, 0.5),
    bytes,
    visits,
    rows,
    people,
  };
}
