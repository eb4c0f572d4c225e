/**
 * Calendar periods in UTC that circles can be asked for besides rolling windows: an ISO 8601
 * week (Monday 00:00 to the next Monday, numbered within its ISO year: `week:2026-W47`) or a
 * calendar month (`month:2026-11`). Both start at a day's start, so the store counts them
 * exactly, rolled-up days included (see scanLog). Pure functions of their arguments.
 */
import { DAY_MS, HOUR_MS } from "./layout.ts";

export type PeriodKind = "week" | "month";

export interface Period {
  kind: PeriodKind;
  /** Its canonical name: `week:2026-W47`, `month:2026-11`. */
  name: string;
  /** Its first instant (ms, 00:00 UTC). */
  start: number;
  /** The first instant after it (ms). */
  end: number;
}

/** A period's name as the API and the site's addresses take it (case aside). */
export const PERIOD_NAME = /^(?:week:\d{4}-W\d{2}|month:\d{4}-\d{2})$/i;

const pad = (n: number) => String(n).padStart(2, "0");

/** Monday 00:00 UTC of week 1 of an ISO year: the week that holds 4 January. */
function isoYearStart(year: number): number {
  const jan4 = Date.UTC(year, 0, 4);
  const weekday = (new Date(jan4).getUTCDay() + 6) % 7; // Monday 0 … Sunday 6
  return jan4 - weekday * DAY_MS;
}

function week(year: number, n: number): Period {
  const start = isoYearStart(year) + (n - 1) * 7 * DAY_MS;
  return { kind: "week", name: `week:${year}-W${pad(n)}`, start, end: start + 7 * DAY_MS };
}

function month(year: number, m: number): Period {
  return {
    kind: "month",
    name: `month:${year}-${pad(m)}`,
    start: Date.UTC(year, m - 1, 1),
    end: Date.UTC(year, m, 1),
  };
}

/** Weeks in an ISO year: 52, or 53 when it starts on a Thursday (or a leap year's Wednesday). */
export function isoWeeksIn(year: number): number {
  return Math.round((isoYearStart(year + 1) - isoYearStart(year)) / (7 * DAY_MS));
}

/**
 * The period a name stands for (`week:2026-W47`, `month:2026-11`, any case), or undefined
 * when it names none: a malformed name, week 0 or past the year's last, month 0 or 13, a
 * year before 1970 or after 9999.
 */
export function parsePeriod(name: string): Period | undefined {
  const w = /^week:(\d{4})-W(\d{2})$/i.exec(name);
  if (w) {
    const [year, n] = [Number(w[1]), Number(w[2])];
    return year >= 1970 && n >= 1 && n <= isoWeeksIn(year) ? week(year, n) : undefined;
  }
  const m = /^month:(\d{4})-(\d{2})$/i.exec(name);
  if (m) {
    const [year, n] = [Number(m[1]), Number(m[2])];
    return year >= 1970 && n >= 1 && n <= 12 ? month(year, n) : undefined;
  }
  return undefined;
}

/** The week or month an instant is in. */
export function periodAt(kind: PeriodKind, instant: number): Period {
  const d = new Date(instant);
  if (kind === "month") return month(d.getUTCFullYear(), d.getUTCMonth() + 1);
  const day = Math.floor(instant / DAY_MS);
  const monday = (day - ((day + 3) % 7)) * DAY_MS; // 1970-01-01 was a Thursday
  // The ISO year is the year of the week's Thursday.
  const year = new Date(monday + 3 * DAY_MS).getUTCFullYear();
  return week(year, Math.round((monday - isoYearStart(year)) / (7 * DAY_MS)) + 1);
}

/** The week or month just before. */
export function previousPeriod(p: Period): Period {
  return periodAt(p.kind, p.start - 1);
}

/**
 * What a period covers at `now`, in the store's terms: whole hours from its start to its end,
 * or to the end of `now`'s hour while it runs. `windowHours` and `at` are what
 * topInteractions() takes (a window of that many hours ending in the hour of `at`).
 * Undefined when the period has not started.
 */
export function periodWindow(
  p: Period,
  now: number,
): { from: number; to: number; windowHours: number; at: number; closed: boolean } | undefined {
  if (p.start > now) return undefined;
  const closed = p.end <= now;
  const to = closed ? p.end : (Math.floor(now / HOUR_MS) + 1) * HOUR_MS;
  return { from: p.start, to, windowHours: (to - p.start) / HOUR_MS, at: to - 1, closed };
}

/**
 * The weeks or months that have started by `now` and start no earlier than `earliest`,
 * newest first, at most `max` of them (what a period picker offers).
 */
export function recentPeriods(
  kind: PeriodKind,
  now: number,
  earliest: number,
  max: number,
): Period[] {
  const out: Period[] = [];
  for (let p = periodAt(kind, now); p.start >= earliest && out.length < max;) {
    out.push(p);
    p = previousPeriod(p);
  }
  return out;
}
