/**
 * What the circles, their interactions and their changes count, from the query: the span
 * (a rolling window, or a week or month checked against the clock and the retention) and
 * the filters (accounts left out by name, mutual follows, bots), made into the store's
 * terms. A span or an account that cannot be counted is a 400 naming its parameter.
 */
import { circleFilter, type Skip } from "@bsky/store/circle_filters";
import { parsePeriod, type Period, periodWindow, previousPeriod } from "@bsky/store/periods";
import { didOfHandle, idOf, windowRange } from "@bsky/store/queries";
import { HOUR_MS } from "@bsky/store/layout";
import { badParameter } from "./http.ts";
import type { Services } from "./route.ts";
import { windowLabel } from "./routes/answers.ts";
import { indexerSettings } from "./routes/meta.ts";

const DAY_MS = 24 * HOUR_MS;

/** What an answer counts. */
export interface Span {
  /** As answers name it: `7d`, `week:2026-W47`. */
  name: string;
  /** Its first hour and the end of its last one (ms). */
  from: number;
  to: number;
  /** What topInteractions() takes: hours, ending in the hour of `at`. */
  windowHours: number;
  at: number;
  /** A period whose counts can no longer change (see finalAfter()). */
  final: boolean;
  /** The period it is, if it is one. */
  period?: Period;
}

/** A rolling window of `hours` ending with the hour of `now`. */
function rolling(hours: number, now: number): Span {
  const { from, to } = windowRange(hours, now);
  return {
    name: windowLabel(hours),
    from: from.getTime(),
    to: to.getTime(),
    windowHours: hours,
    at: now,
    final: false,
  };
}

/**
 * A period's span at `now`, checked: it must have started and start within the retention
 * (both a 400 naming `param`). It is final once it has ended and every record made in it is
 * past the record memory, so that no delete can take anything back from it.
 */
async function ofPeriod(
  services: Services,
  period: Period,
  now: number,
  param: string,
): Promise<Span> {
  const w = periodWindow(period, now);
  if (!w) throw badParameter(param, period.name, "has not started yet");
  const { retentionDays, recordMemoryHours } = await indexerSettings(services.redis);
  const earliest = now - retentionDays * DAY_MS;
  if (w.from < earliest) {
    throw badParameter(
      param,
      period.name,
      `starts before what is kept: interactions are kept ${retentionDays} days, from ${
        new Date(Math.ceil(earliest / HOUR_MS) * HOUR_MS).toISOString()
      }`,
    );
  }
  return {
    name: period.name,
    from: w.from,
    to: w.to,
    windowHours: w.windowHours,
    at: w.at,
    final: w.closed && period.end + recordMemoryHours * HOUR_MS <= now,
    period,
  };
}

/** The span a `window` parameter (hours, or a period's name) names at `now`. */
export async function spanOf(
  services: Services,
  window: number | string,
  now: number,
): Promise<Span> {
  if (typeof window === "number") return rolling(window, now);
  return await ofPeriod(services, parsePeriod(window)!, now, "window");
}

/**
 * The span before: the week or month before a period (whole), the same number of hours
 * before a rolling window. A 400 naming `window` when it starts before what is kept.
 */
export async function previousSpan(services: Services, span: Span, now: number): Promise<Span> {
  if (span.period) {
    return await ofPeriod(services, previousPeriod(span.period), now, "window");
  }
  const { retentionDays } = await indexerSettings(services.redis);
  const from = span.from - span.windowHours * HOUR_MS;
  if (from < now - retentionDays * DAY_MS) {
    throw badParameter(
      "window",
      span.name,
      `has no previous ${span.name} within what is kept (${retentionDays} days)`,
    );
  }
  return { ...span, from, to: span.from, at: span.from - 1 };
}

/**
 * How long an answer over a final period may be kept at least: longer than the usual 60 s,
 * and with the site's 30 s still within the two minutes in which an account that opts out
 * leaves every cached page.
 */
export const FINAL_SECONDS = 90;

/** How long an answer over `span` may be kept (FART_CACHE_SECONDS unless it is final). */
export function keepSeconds(services: Services, span: Span): number {
  const usual = services.config.FART_CACHE_SECONDS;
  return span.final ? Math.max(usual, FINAL_SECONDS) : usual;
}

/** The filters of a query, as the API takes them. */
export interface Filters {
  exclude: string[];
  mutuals: "all" | "only" | "none";
  bots: "show" | "hide";
}

/**
 * The store ids of the accounts `exclude` names: DIDs as they are, handles through the
 * local index (a handle it does not hold names no account with interactions here).
 */
async function excludedIds(services: Services, names: readonly string[]): Promise<Set<number>> {
  const ids = await Promise.all(names.map(async (name) => {
    const did = name.startsWith("did:") ? name : await didOfHandle(services.redis, name);
    return did === undefined ? undefined : await idOf(services.redis, did);
  }));
  return new Set(ids.filter((id): id is number => id !== undefined));
}

/** The `skip` of topInteractions() for `actor`'s circles over `span`, or none. */
export async function skipOf(
  services: Services,
  actor: number,
  filters: Filters,
  span: Span,
): Promise<Skip | undefined> {
  return circleFilter(services.redis, actor, {
    exclude: await excludedIds(services, filters.exclude),
    mutuals: filters.mutuals === "all" ? undefined : filters.mutuals,
    hideBots: filters.bots === "hide",
    windowHours: span.windowHours,
    now: span.at,
  });
}

/**
 * A parsed query without the filters left at their defaults: what answer caches are keyed
 * by, so that a query without filters keeps the key it had before there were any.
 */
export function withoutDefaultFilters<Q extends Filters>(q: Q): Partial<Q> {
  const { exclude, mutuals, bots, ...rest } = q;
  return {
    ...rest,
    ...(exclude.length ? { exclude } : {}),
    ...(mutuals !== "all" ? { mutuals } : {}),
    ...(bots !== "show" ? { bots } : {}),
  } as Partial<Q>;
}
