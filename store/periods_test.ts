import assert from "node:assert/strict";
import { DAY_MS, HOUR_MS } from "./layout.ts";
import {
  isoWeeksIn,
  parsePeriod,
  periodAt,
  periodWindow,
  previousPeriod,
  recentPeriods,
} from "./periods.ts";

const at = (iso: string) => Date.parse(iso);

Deno.test("ISO weeks start on Monday 00:00 UTC and are numbered within their ISO year", () => {
  assert.deepEqual(parsePeriod("week:2026-W47"), {
    kind: "week",
    name: "week:2026-W47",
    start: at("2026-11-16T00:00:00Z"),
    end: at("2026-11-23T00:00:00Z"),
  });
  // 2021-01-01 was a Friday: it belongs to 2020's week 53, and 2021's week 1 starts on 4 January.
  assert.equal(periodAt("week", at("2021-01-01T12:00:00Z")).name, "week:2020-W53");
  assert.equal(parsePeriod("week:2021-W01")!.start, at("2021-01-04T00:00:00Z"));
  // 2024-12-30 (a Monday) starts 2025's week 1.
  assert.equal(periodAt("week", at("2024-12-31T23:59:59.999Z")).name, "week:2025-W01");
  assert.deepEqual([2015, 2020, 2021, 2026].map(isoWeeksIn), [53, 53, 52, 53]);
  assert.equal(parsePeriod("week:2021-W53"), undefined, "2021 has 52 weeks");
  assert.equal(parsePeriod("week:2026-W53")!.end, at("2027-01-04T00:00:00Z"));
  for (const bad of ["week:2026-W00", "week:2026-W54", "week:26-W01", "week:2026W01", "2026-W01"]) {
    assert.equal(parsePeriod(bad), undefined, bad);
  }
  assert.equal(parsePeriod("WEEK:2026-w47")!.name, "week:2026-W47", "any case, one name");
  // Every instant of a week is in it; its first and last millisecond too.
  const w = parsePeriod("week:2026-W47")!;
  for (let t = w.start; t < w.end; t += 7 * HOUR_MS) assert.equal(periodAt("week", t).name, w.name);
  assert.equal(periodAt("week", w.end - 1).name, w.name);
  assert.equal(periodAt("week", w.end).name, "week:2026-W48");
  assert.equal(previousPeriod(parsePeriod("week:2021-W01")!).name, "week:2020-W53");
});

Deno.test("months are calendar months in UTC, of 28 to 31 days", () => {
  assert.deepEqual(parsePeriod("month:2026-11"), {
    kind: "month",
    name: "month:2026-11",
    start: at("2026-11-01T00:00:00Z"),
    end: at("2026-12-01T00:00:00Z"),
  });
  assert.equal(
    parsePeriod("month:2024-02")!.end - parsePeriod("month:2024-02")!.start,
    29 * DAY_MS,
  );
  assert.equal(parsePeriod("month:2026-13"), undefined);
  assert.equal(parsePeriod("month:2026-00"), undefined);
  assert.equal(parsePeriod("month:1969-12"), undefined);
  assert.equal(periodAt("month", at("2026-12-31T23:59:59.999Z")).name, "month:2026-12");
  assert.equal(previousPeriod(parsePeriod("month:2026-01")!).name, "month:2025-12");
});

Deno.test("a period's window: whole while closed, up to now's hour while it runs, none before it starts", () => {
  const w = parsePeriod("week:2026-W47")!;
  assert.deepEqual(periodWindow(w, at("2026-12-01T10:00:00Z")), {
    from: w.start,
    to: w.end,
    windowHours: 168,
    at: w.end - 1,
    closed: true,
  });
  assert.equal(periodWindow(w, w.end)!.closed, true);
  // Tuesday 10:20: Monday's 24 hours and Tuesday's 11, ending with the current hour.
  assert.deepEqual(periodWindow(w, at("2026-11-17T10:20:00Z")), {
    from: w.start,
    to: at("2026-11-17T11:00:00Z"),
    windowHours: 35,
    at: at("2026-11-17T11:00:00Z") - 1,
    closed: false,
  });
  assert.equal(periodWindow(w, w.start - 1), undefined);
  assert.equal(
    periodWindow(parsePeriod("month:2026-02")!, at("2026-03-05T00:00:00Z"))!.windowHours,
    672,
  );
});

Deno.test("recentPeriods() lists the periods started within the bounds, newest first", () => {
  const now = at("2026-11-30T13:00:00Z");
  assert.deepEqual(
    recentPeriods("week", now, now - 30 * DAY_MS, 10).map((p) => p.name),
    ["week:2026-W49", "week:2026-W48", "week:2026-W47", "week:2026-W46", "week:2026-W45"],
  );
  assert.deepEqual(recentPeriods("week", now, 0, 2).map((p) => p.name), [
    "week:2026-W49",
    "week:2026-W48",
  ]);
  assert.deepEqual(recentPeriods("month", now, now - 30 * DAY_MS, 10).map((p) => p.name), [
    "month:2026-11",
  ]);
});
