/** The windows the queries count: whole hours ending with now's, read week by week. */
import { HOUR_MS, WEEK_HOURS } from "./layout.ts";

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
