/**
 * The store's roll-up: the indexer owns what a roll-up does and for which weeks
 * (store/rollup.ts); this job decides when, and whether its clock can be trusted.
 *
 * A roll-up as of a later instant than a reader's would round days that reader still counts
 * by the hour, so the job runs only while its clock agrees with Redis's (the one clock every
 * service shares) to within MAX_CLOCK_SKEW_MS; the roll-up itself waits CLOCK_MARGIN_HOURS
 * more than exactness needs, for readers on other hosts.
 */
import { type Redis, serverTime } from "@bsky/shared/redis";
import { rollUpWeeks } from "@bsky/store/rollup";

/** How far the job's clock may be from Redis's before it refuses to roll up. */
export const MAX_CLOCK_SKEW_MS = 10 * 60_000;

export class ClockSkewError extends RangeError {}

export async function rollUpStore(
  redis: Redis,
  now: number,
  { maxSkewMs = MAX_CLOCK_SKEW_MS }: { maxSkewMs?: number } = {},
) {
  const skew = now - await serverTime(redis);
  if (Math.abs(skew) > maxSkewMs) {
    throw new ClockSkewError(
      `Cannot roll up the store: this clock is ${Math.round(skew / 1000)} s from Redis's ` +
        `(at most ${maxSkewMs / 1000} s allowed)`,
    );
  }
  return await rollUpWeeks(redis, now);
}
