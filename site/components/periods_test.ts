/**
 * The period picker's weeks and months at many instants of a year (month ends of 30 and 31
 * days, year's end, every hour of a day): exactly the periods that have started and start
 * within the retention less the API's hour are offered, newest first.
 */
import assert from "node:assert/strict";
import { periodAt } from "@bsky/store/periods";
import { periodChoices } from "./periods.ts";

const HOUR = 3_600_000, DAY = 24 * HOUR;

/** Every week or month that holds an instant of the last `days` + 40 days, newest first. */
function candidates(kind: "week" | "month", now: number, days: number) {
  const seen = new Map<string, number>();
  for (let t = now; t >= now - (days + 40) * DAY; t -= 6 * HOUR) {
    const p = periodAt(kind, t);
    seen.set(p.name, p.start);
  }
  return [...seen].sort((a, b) => b[1] - a[1]);
}

Deno.test("the picker offers the weeks and months that started within the retention, at any instant", () => {
  const instants: number[] = [];
  // A year, every 31 hours (so every hour of the day comes round), and the last hours of
  // month ends of 30 and 31 days and of the year.
  for (let t = Date.UTC(2026, 0, 1); t < Date.UTC(2027, 0, 1); t += 31 * HOUR) instants.push(t);
  for (const end of [Date.UTC(2026, 10, 30), Date.UTC(2026, 9, 31), Date.UTC(2026, 11, 31)]) {
    for (let h = 0; h < 24; h++) instants.push(end + h * HOUR + 30 * 60_000);
  }
  let absentThisMonth = 0;
  for (const now of instants) {
    for (const retentionDays of [7, 30]) {
      const earliest = now - retentionDays * DAY + HOUR;
      const { weeks, months } = periodChoices(now, retentionDays, "en");
      for (const [kind, got, max] of [["week", weeks, 8], ["month", months, 6]] as const) {
        const want = candidates(kind, now, retentionDays)
          .filter(([, start]) => start <= now && start >= earliest)
          .slice(0, max)
          .map(([name]) => name);
        assert.deepEqual(
          got.map((c) => c.value),
          want,
          `${kind}s at ${new Date(now).toISOString()}`,
        );
      }
      if (!months.some((m) => m.value === periodAt("month", now).name)) absentThisMonth++;
    }
  }
  // At 30 days, the last hours of a 31-day month leave this month out, as the API would.
  assert.ok(absentThisMonth > 0);
  const late = periodChoices(Date.UTC(2026, 9, 31, 23, 30), 30, "en");
  assert.ok(!late.months.some((m) => m.value === "month:2026-10"), "Oct 31, 23:30");
  const early = periodChoices(Date.UTC(2026, 10, 30, 22, 30), 30, "en");
  assert.equal(early.months[0].value, "month:2026-11", "Nov 30, 22:30");
});
