/**
 * Redis key names. Keys that must change together in one atomic step share a hash tag
 * (the part in braces) so that the same code runs on Redis Cluster.
 */

/** The firehose's keys: its cursor and its partitioned event streams share one slot. */
export const firehoseKeys = {
  cursor: "fh:{firehose}:cursor",
  stream: (partition: number) => `fh:{firehose}:events:${partition}`,
  streams: (partitions: number) =>
    Array.from({ length: partitions }, (_, i) => firehoseKeys.stream(i)),
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

export const statsKeys = {
  top: (window: TopWindow, metric: TopMetric) => `stats:{g}:top:${window}:${metric}`,
};
