/** Wires the indexer together: Redis, the applier, the stream consumer and /metrics. */
import { firehoseKeys } from "@bsky/shared/keys";
import { createLogger, type Logger } from "@bsky/shared/log";
import { serveOps } from "@bsky/shared/service";
import { connectRedis, isCluster, type Redis } from "@bsky/shared/redis";
import { checkServerSettings } from "@bsky/shared/redis_settings";
import { Applier } from "@bsky/store/apply";
import { ClusterApplier } from "@bsky/store/cluster_apply";
import { storeKeys } from "@bsky/store/layout";
import type { IndexerConfig } from "./config.ts";
import { StreamConsumer } from "./consumer.ts";
import { type IndexerMetrics, indexerMetrics } from "./metrics.ts";

export interface IndexerService {
  consumer: StreamConsumer;
  metrics: IndexerMetrics;
  redis: Redis;
  port: number;
  stop(): Promise<void>;
}

export async function startIndexer(
  config: IndexerConfig,
  log: Logger = createLogger("indexer", { level: config.LOG_LEVEL }),
  name = `indexer-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`,
): Promise<IndexerService> {
  const redis = await connectRedis(config, { name: "indexer", log });
  await checkServerSettings(redis, log);
  const metrics = indexerMetrics();
  metrics.registry.gauge(
    "indexer_pending_entries",
    "Entries read by the group and not yet acknowledged, per partition",
    ["partition"],
    async (g) => {
      for (let p = 0; p < config.FIREHOSE_PARTITIONS; p++) {
        const [count] = await redis.xpending(firehoseKeys.stream(p), config.INDEXER_GROUP) as [
          number,
        ];
        g.set({ partition: String(p) }, count);
      }
    },
  );
  // What the API's /v1/meta tells visitors about how long data is kept.
  await redis.hset(storeKeys.settings, {
    retentionDays: config.INDEXER_RETENTION_DAYS,
    recordMemoryHours: config.INDEXER_RECORD_MEMORY_HOURS,
  });
  const single = new Applier(redis, {
    retentionDays: config.INDEXER_RETENTION_DAYS,
    memoryHours: config.INDEXER_RECORD_MEMORY_HOURS,
  });
  // On a Redis Cluster, in two rounds (each applied once per slot), then WAIT.
  const cluster = isCluster(redis);
  const applier = cluster
    ? new ClusterApplier(redis, single, {
      waitReplicas: config.INDEXER_WAIT_REPLICAS ?? 1,
      waitMs: config.INDEXER_WAIT_MS,
    })
    : single;
  // Blocks of deleted accounts that a stop left unended (the applier ends them after each
  // batch that leaves some; on a Cluster, a deletion ends them all at once).
  if (!cluster && await redis.zcard(storeKeys.blocksEnding) > 0) await single.endBlocks();
  const consumer = new StreamConsumer(redis, applier, metrics, log, {
    partitions: config.FIREHOSE_PARTITIONS,
    group: config.INDEXER_GROUP,
    name,
    batchSize: config.INDEXER_BATCH_SIZE,
    leaseMs: config.INDEXER_LEASE_MS,
  });
  const server = serveOps(config.INDEXER_METRICS_PORT, metrics.registry, () => ({
    ok: redis.status === "ready",
    redis: redis.status,
    partitions: consumer.owned,
  }), config.BIND_HOST);
  consumer.start();
  log.info("Indexer started", { name, partitions: config.FIREHOSE_PARTITIONS });
  return {
    consumer,
    metrics,
    redis,
    port: server.addr.port,
    async stop() {
      await consumer.stop();
      await server.shutdown();
      redis.disconnect();
    },
  };
}
