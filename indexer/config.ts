/** The indexer's configuration (documented in .env.example). */
import { commonEnv, env, type EnvSource, loadConfig } from "@bsky/shared/config";

export const indexerEnv = {
  ...commonEnv,
  FIREHOSE_PARTITIONS: env.int(1, { min: 1, max: 256 }),
  INDEXER_RETENTION_DAYS: env.int(30, { min: 1, max: 365 }),
  INDEXER_RECORD_MEMORY_HOURS: env.int(48, { min: 1, max: 24 * 30 }),
  INDEXER_BATCH_SIZE: env.int(1000, { min: 1, max: 2000 }),
  INDEXER_GROUP: env.string("indexer"),
  INDEXER_LEASE_MS: env.int(10_000, { min: 1000 }),
  INDEXER_METRICS_PORT: env.int(8002, { min: 0, max: 65535 }),
  /**
   * On a Redis Cluster, replicas each call of a batch must reach (WAIT) before the batch is
   * acknowledged; unset: 1. A batch that reaches fewer is applied again (nothing twice).
   */
  INDEXER_WAIT_REPLICAS: env.replicas(),
  /** How long each WAIT waits (ms). */
  INDEXER_WAIT_MS: env.int(1000, { min: 1, max: 60_000 }),
};

export type IndexerConfig = ReturnType<typeof loadIndexerConfig>;

export function loadIndexerConfig(source?: EnvSource) {
  return loadConfig(indexerEnv, source);
}
