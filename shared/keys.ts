/**
 * Redis key names of the firehose, the network counters, the top lists and the scheduler
 * (the interaction store's are in store/layout.ts, the tasker's in tasker/ledger.ts). The
 * part in braces is the hash tag: keys with the same tag are in the same slot, and on Redis
 * Cluster a script, MULTI or multi-key command may only use keys of one slot. Here:
 * - the firehose's streams and cursors: see firehoseKeys;
 * - the network counters (`stats:{firehose}:*`) and the counters' cursor share `{firehose}`:
 *   the firehose writes them together in one script, and the scheduler's counters job
 *   merges them (PFMERGE, MULTI) within that slot;
 * - a top list (`stats:{g}:top:*`) is written aside and renamed over within `{g}`;
 * - the scheduler's job locks and statuses (`sched:{g}:*`) take one command at a time.
 * The interaction store does not keep to one slot: its apply script writes the keys of
 * many accounts (each its own tag) in one call, which Cluster refuses; store/layout.ts says
 * which of its scripts would run on Cluster and what would have to change. Every SCAN (the
 * counters job, the store's roll-up, the sweep, the top lists) walks one node.
 */

/**
 * The firehose's keys. Each partition's stream and its cursor (the last relay seq written
 * into that stream) share a hash tag of their own, `{fh:<partition>}`, so that on Redis
 * Cluster the partitions spread over the nodes and each is written atomically with its
 * cursor. The network counters' cursor shares `{firehose}` with networkKeys. On one server
 * all of them move together, in one script per batch (firehose/publisher.ts).
 */
export const firehoseKeys = {
  /**
   * Prefix of the network counters' cursor, `${cursor}:${source}`: the last seq whose events
   * are counted. Before partitions had tags of their own, the one cursor of everything (it
   * then seeds the partitions' cursors once; see firehose/publisher.ts).
   */
  cursor: "fh:{firehose}:cursor",
  stream: (partition: number) => `fh:{fh:${partition}}:events`,
  streams: (partitions: number) =>
    Array.from({ length: partitions }, (_, i) => firehoseKeys.stream(i)),
  /** Prefix of a partition's cursor, `${partitionCursor(p)}:${source}`. */
  partitionCursor: (partition: number) => `fh:{fh:${partition}}:cursor`,
  /** A partition's stream before partitions had tags of their own (moved once at start). */
  legacyStream: (partition: number) => `fh:{firehose}:events:${partition}`,
  /**
   * Sorted set of the accounts whose mentions the firehose passes with what a reply needs
   * (WatchedPost), scored by when each registration expires (ms): see shared/watch.ts.
   */
  watch: "fh:{firehose}:watch",
};

/** FNV-1a over the DID's UTF-16 code units: stable across processes and versions. */
export function partitionOf(did: string, partitions: number): number {
  if (partitions <= 1) return 0;
  let h = 0x811c9dc5;
  for (let i = 0; i < did.length; i++) {
    h ^= did.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % partitions;
}

/** The global top lists the scheduler computes and the API serves. */
export const TOP_METRICS = [
  "likes_received",
  "likes_sent",
  "reposts_received",
  "reposts_sent",
  "replies_received",
  "replies_sent",
  "quotes_received",
  "quotes_sent",
  "mentions_received",
  "mentions_sent",
  "blocked",
  "blockers",
] as const;
export type TopMetric = typeof TOP_METRICS[number];
export const TOP_WINDOWS = ["24h", "7d"] as const;
export type TopWindow = typeof TOP_WINDOWS[number];

/**
 * A top list as stored: JSON `{ metric, window, computedAt (ms), items: [{ did, count }] }`,
 * replaced whole (written aside, then renamed over) so readers never see half a list.
 */
export interface TopSnapshot {
  metric: TopMetric;
  window: TopWindow;
  computedAt: number;
  items: { did: string; count: number }[];
}

/**
 * Top posters per language: `metric=posts` with a language (a primary subtag, see
 * shared/langs.ts) over its own windows. The scheduler writes a list for each of the
 * LANGUAGE_LISTS languages with the most posts over the longest window, and an index of
 * them with their totals; both are replaced whole, as the other lists.
 */
export const LANGUAGE_METRIC = "posts";
export const LANGUAGE_WINDOWS = ["24h", "72h"] as const;
export type LanguageWindow = typeof LANGUAGE_WINDOWS[number];
export const LANGUAGE_WINDOW_HOURS: Record<LanguageWindow, number> = { "24h": 24, "72h": 72 };
export const LANGUAGE_LISTS = 100;

/** One language's top posters over a window: `{ lang, window, computedAt, items }`. */
export interface LanguageSnapshot {
  lang: string;
  window: LanguageWindow;
  computedAt: number;
  items: { did: string; count: number }[];
}

/** The languages that have lists, most posts first: posts and posters of each, per window. */
export interface LanguageIndex {
  computedAt: number;
  windows: Record<LanguageWindow, { lang: string; posts: number; posters: number }[]>;
}

export const statsKeys = {
  top: (window: TopWindow, metric: TopMetric) => `stats:{g}:top:${window}:${metric}`,
  /** A language's top posters over a window (LanguageSnapshot). */
  languageTop: (window: LanguageWindow, lang: string) =>
    `stats:{g}:top:${window}:${LANGUAGE_METRIC}:${lang}`,
  /** The languages with lists (LanguageIndex). */
  languages: `stats:{g}:top:${LANGUAGE_METRIC}`,
};

/**
 * Network counters. The firehose writes minutes and hours with each batch (under its own
 * hash tag, so one script writes them with the events); the scheduler rolls minutes into
 * hours and hours into days. Every key expires.
 */
export const networkKeys = {
  /** Hash collection → events in that minute (minutes since the epoch). */
  eventsMinute: (minute: number) => `stats:{firehose}:ev:m:${minute}`,
  /** Hash collection → events in that hour, rolled up from the minutes. */
  eventsHour: (hour: number) => `stats:{firehose}:ev:h:${hour}`,
  /** HyperLogLog of the accounts active in that hour. */
  activeHour: (kind: ActiveKind, hour: number) => `stats:{firehose}:act:${kind}:h:${hour}`,
  /** HyperLogLog of the accounts active that day (days since the epoch), merged from hours. */
  activeDay: (kind: ActiveKind, day: number) => `stats:{firehose}:act:${kind}:d:${day}`,
  /** Count of repositories whose first commit was seen in that hour. */
  createdHour: (hour: number) => `stats:{firehose}:new:h:${hour}`,
  /** Minutes are kept 48 hours (and a margin), hours and days 30 days (and a margin). */
  MINUTE_TTL_SECONDS: 49 * 3600,
  HOUR_TTL_SECONDS: 31 * 86400,
};
export const ACTIVE_KINDS = ["posters", "likers", "all"] as const;
export type ActiveKind = typeof ACTIVE_KINDS[number];

/** The scheduler's jobs as the API reports them. */
export const JOB_NAMES = ["top", "counters", "rollup", "sweep", "profiles", "backfill"] as const;
export type JobName = typeof JOB_NAMES[number];

/** A job's last run as recorded in `jobKeys.status(job)` (a hash of these fields as strings). */
export interface JobStatus {
  job: JobName;
  /** When the last run started and ended (ms), and how long it took. */
  startedAt: number;
  endedAt: number;
  durationMs: number;
  outcome: "ok" | "failed";
  /** The last run's error message, "" when it succeeded. */
  error: string;
  /** When the last successful run ended (ms); 0 if none. */
  lastSuccessAt: number;
  /** What the last run did, as JSON (counts by what). */
  details: string;
}

export const jobKeys = {
  status: (job: JobName) => `sched:{g}:job:${job}`,
  lock: (job: JobName) => `sched:{g}:lock:${job}`,
  /** Sorted set of DIDs the API looked up, scored by the time (ms), for profile upkeep. */
  lookedUp: "sched:{g}:looked_up",
};
