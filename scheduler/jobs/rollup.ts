/**
 * The store's roll-up, run for the weeks that can still change: the indexer owns what a
 * roll-up does (indexer/rollup.ts); this job only decides when and for which weeks.
 */
import type { Redis } from "@bsky/shared/redis";
import { compactWeek } from "@bsky/indexer/rollup";
import { HOUR_MS, WEEK_HOURS } from "@bsky/indexer/store";

export async function rollUpStore(redis: Redis, now = Date.now()) {
  const week = Math.floor(now / HOUR_MS / WEEK_HOURS);
  const out: Record<string, { keys: number; before: number; after: number }> = {};
  // The previous week's last days close during the current week's first day.
  for (const w of [week - 1, week]) out[String(w)] = await compactWeek(redis, w, now);
  return out;
}
