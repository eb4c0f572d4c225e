/** The backfill's metrics, on /metrics of BACKFILL_METRICS_PORT. */
import { Registry } from "@bsky/shared/metrics";

export function backfillMetrics(registry = new Registry()) {
  return {
    registry,
    repos: registry.counter(
      "backfill_repos_total",
      "Repositories by outcome: loaded, gone (the source has none), inactive (status only), skipped (done before), failed (recorded for a later try)",
      ["outcome"],
    ),
    records: registry.counter(
      "backfill_records_total",
      "Records of kept collections by outcome: counted, seen_live (in the record memory or deleted live), after_live_start, before_window, no_time, hidden (account inactive live), dropped (as the firehose drops them), idle (counts nothing)",
      ["outcome"],
    ),
    bytes: registry.counter("backfill_bytes_total", "Bytes read from the source"),
    requests: registry.counter("backfill_requests_total", "Requests to the source", [
      "method",
      "status",
    ]),
    failures: registry.counter(
      "backfill_attempt_failures_total",
      "Attempts at a repository that failed, by reason (each is tried again after a pause)",
      ["reason"],
    ),
    reposRate: registry.gauge("backfill_repos_per_second", "Repositories finished per second"),
    recordsRate: registry.gauge("backfill_records_per_second", "Records read per second"),
    eta: registry.gauge(
      "backfill_eta_seconds",
      "Time left at the current rate, for BACKFILL_EXPECTED_REPOS (or those listed so far)",
    ),
    done: registry.gauge("backfill_repos_done", "Repositories finished on this host, every run"),
    listed: registry.gauge("backfill_repos_listed", "Repositories listed on this host so far"),
    failed: registry.gauge("backfill_failed_repos", "Repositories recorded as failed"),
    inFlight: registry.gauge("backfill_repos_in_flight", "Repositories being read or loaded"),
  };
}

export type BackfillMetrics = ReturnType<typeof backfillMetrics>;
