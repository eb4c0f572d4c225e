/** The indexer's metrics. */
import { Registry } from "@bsky/shared/metrics";

export function indexerMetrics(registry = new Registry()) {
  return {
    registry,
    entries: registry.counter("indexer_entries_total", "Stream entries read, by partition", [
      "partition",
    ]),
    ops: registry.counter("indexer_ops_total", "Operations by outcome", ["outcome"]),
    parked: registry.counter("indexer_parked_total", "Malformed entries parked, by reason", [
      "reason",
    ]),
    batches: registry.histogram(
      "indexer_batch_seconds",
      "Time to apply and acknowledge one batch",
      [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    ),
    errors: registry.counter("indexer_apply_errors_total", "Batches that failed and were retried"),
    owned: registry.gauge("indexer_partitions_owned", "Partitions this process holds"),
    lag: registry.gauge("indexer_lag_seconds", "Now minus the event time of the last event"),
  };
}

export type IndexerMetrics = ReturnType<typeof indexerMetrics>;
