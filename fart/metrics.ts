/** The API's metrics, served at /metrics. */
import { Registry } from "@bsky/shared/metrics";

export type FartMetrics = ReturnType<typeof fartMetrics>;

export function fartMetrics() {
  const registry = new Registry();
  return {
    registry,
    requests: registry.counter("fart_requests_total", "Requests by route and status", [
      "route",
      "status",
    ]),
    latency: registry.histogram("fart_request_seconds", "Time to answer a request", [
      0.001,
      0.005,
      0.01,
      0.025,
      0.05,
      0.1,
      0.25,
      1,
    ]),
    rateLimited: registry.counter("fart_rate_limited_total", "Requests refused by a rate limit"),
    authFailures: registry.counter(
      "fart_auth_failures_total",
      "Requests refused for a missing or wrong API key",
    ),
    byKey: registry.counter(
      "fart_key_requests_total",
      'Requests admitted by API key name ("" for callers without a key)',
      ["key"],
    ),
  };
}
