/** The firehose service's metrics. */
import { Registry } from "@bsky/shared/metrics";
import { COLLECTIONS, type FirehoseEvent } from "@bsky/shared/events";
import type { NormalizeStats } from "./normalize.ts";

/** Each commit label made once, so that counting an event never builds a string. */
const COMMIT_LABELS: ReadonlyMap<string, string> = new Map(
  COLLECTIONS.map((c) => [c, `commit ${c}`]),
);

/** The label an event is counted under: "kind collection" ("kind " outside commits). */
export const eventLabel = (e: FirehoseEvent): string =>
  e.kind === "commit"
    ? COMMIT_LABELS.get(e.collection) ?? `commit ${e.collection}`
    : e.kind === "identity"
    ? "identity "
    : "account ";

export function firehoseMetrics(registry = new Registry()) {
  const m = {
    registry,
    frames: registry.counter("firehose_frames_total", "Frames received, by type", ["type"]),
    bytes: registry.counter("firehose_bytes_total", "Bytes of frames received"),
    events: registry.counter(
      "firehose_events_total",
      "Normalized events published, by kind and collection",
      ["kind", "collection"],
    ),
    dropped: registry.counter("firehose_dropped_total", "Ops or frames dropped, by reason", [
      "reason",
    ]),
    ignored: registry.counter(
      "firehose_ignored_total",
      "Ops of collections and frames of types the platform does not keep",
    ),
    reconnects: registry.counter("firehose_reconnects_total", "Reconnections, by reason", [
      "reason",
    ]),
    infos: registry.counter("firehose_info_frames_total", "#info frames, by name", ["name"]),
    errors: registry.counter("firehose_error_frames_total", "Error frames, by error", ["error"]),
    publishConflicts: registry.counter(
      "firehose_publish_conflicts_total",
      "Batches refused because the stored cursor moved",
    ),
    seq: registry.gauge("firehose_seq", "Seq of the last frame processed"),
    cursor: registry.gauge("firehose_cursor", "Durable cursor: last seq written with its events"),
    lag: registry.gauge("firehose_lag_seconds", "Now minus the event time of the last event"),
    pending: registry.gauge("firehose_pending_events", "Events decoded and not yet written"),
    connected: registry.gauge("firehose_connected", "1 while the upstream socket is open"),
    consumerLag: registry.gauge(
      "firehose_consumer_lag",
      "Most entries a consumer group has yet to read; the firehose pauses near the cap",
    ),
    batch: registry.histogram(
      "firehose_batch_seconds",
      "Time to write one batch with its cursor",
      [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    ),
  };
  const stats: NormalizeStats = {
    drop: (reason) => m.dropped.inc({ reason }),
    ignore: () => m.ignored.inc(),
  };
  const eventCounters = new Map<string, { inc(by?: number): void }>();
  /** Adds `n` events of a label "kind collection" (as the frame processor counts them). */
  const countEvents = (label: string, n: number) => {
    let counter = eventCounters.get(label);
    if (!counter) {
      const [kind, collection = ""] = label.split(" ");
      counter = m.events.with({ kind, collection });
      eventCounters.set(label, counter);
    }
    counter.inc(n);
  };
  return { ...m, stats, countEvents };
}

export type FirehoseMetrics = ReturnType<typeof firehoseMetrics>;
