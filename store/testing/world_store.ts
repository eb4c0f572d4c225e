/**
 * A circle world (circle_world.ts) written to a store as the indexer and the scheduler leave
 * it: applied by the real applier in batches, then every week rolled up (days and hours).
 */
import type { Redis } from "@bsky/shared/redis";
import { Applier } from "../apply.ts";
import { HOUR_MS, WEEK_HOURS } from "../layout.ts";
import { compactWeek } from "../rollup.ts";
import type { World } from "./circle_world.ts";

export async function storeWorld(
  redis: Redis,
  world: World,
  o: { start: number; now: number; retentionDays: number },
): Promise<void> {
  // The record memory's keys expire on the real clock, and the world's creates are weeks
  // old: remembered for the whole world, a delete applied in a later batch than its create
  // still takes it back, as it does when events arrive as they happen.
  const applier = new Applier(redis, {
    retentionDays: o.retentionDays,
    memoryHours: o.retentionDays * 24,
  });
  for (let k = 0; k < world.events.length; k += 2000) {
    await applier.apply(world.events.slice(k, k + 2000));
  }
  const week = (t: number) => Math.floor(t / HOUR_MS / WEEK_HOURS);
  for (let w = week(o.start); w <= week(o.now); w++) await compactWeek(redis, w, o.now);
}
