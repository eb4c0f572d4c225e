/** The firehose service's configuration (documented in .env.example). */
import { commonEnv, env, type EnvSource, loadConfig } from "@bsky/shared/config";

export const firehoseEnv = {
  ...commonEnv,
  FIREHOSE_URL: env.url("wss://bsky.network", ["ws", "wss"]),
  FIREHOSE_SOURCE: env.oneOf(["relay", "jetstream"] as const, "relay"),
  FIREHOSE_VERIFY: env.bool(false),
  FIREHOSE_PLC_URL: env.url("https://plc.directory", ["http", "https"]),
  FIREHOSE_PARTITIONS: env.int(1, { min: 1, max: 256 }),
  FIREHOSE_STREAM_MAXLEN: env.int(2_000_000, { min: 1000 }),
  FIREHOSE_BATCH_SIZE: env.int(1000, { min: 1, max: 20_000 }),
  FIREHOSE_BATCH_MS: env.int(50, { min: 1, max: 10_000 }),
  FIREHOSE_MAX_PENDING: env.int(50_000, { min: 100 }),
  /**
   * Consumer groups (comma-separated) the firehose never waits for: the stream cap may drop
   * what they have not read. The tasker answers only recent mentions; the indexer is never
   * one of them, or counts would be lost.
   */
  FIREHOSE_BEST_EFFORT_GROUPS: env.string("tasker"),
  FIREHOSE_STALL_SECONDS: env.int(30, { min: 1 }),
  FIREHOSE_DECODE_WORKER: env.bool(false),
  FIREHOSE_MAX_RECORD_BYTES: env.int(64 * 1024, { min: 1024 }),
  FIREHOSE_METRICS_PORT: env.int(8001, { min: 0, max: 65535 }),
  /**
   * Replicas each batch must reach (WAIT) before it counts as written; unset: 1 on Redis
   * Cluster, 0 on one server.
   */
  FIREHOSE_WAIT_REPLICAS: env.replicas(),
};

export type FirehoseConfig = ReturnType<typeof loadFirehoseConfig>;

export function loadFirehoseConfig(source?: EnvSource) {
  return loadConfig(firehoseEnv, source);
}
