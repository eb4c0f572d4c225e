/** Wires the firehose together: Redis, publisher, subscription and the metrics server. */
import { createLogger, type Logger } from "@bsky/shared/log";
import { serveOps } from "@bsky/shared/service";
import { connectRedis, type Redis } from "@bsky/shared/redis";
import type { FirehoseConfig } from "./config.ts";
import { type FirehoseMetrics, firehoseMetrics } from "./metrics.ts";
import { Publisher } from "./publisher.ts";
import { Subscription } from "./subscription.ts";
import { VerifiedSubscription } from "./verified.ts";

/** What the service needs of either subscription. */
export interface AnySubscription {
  readonly connected: boolean;
  readonly cursor: number | undefined;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface FirehoseService {
  subscription: AnySubscription;
  metrics: FirehoseMetrics;
  redis: Redis;
  /** The metrics server's port (useful when configured as 0). */
  port: number;
  done: Promise<void>;
  stop(): Promise<void>;
}

export async function startFirehose(
  config: FirehoseConfig,
  log: Logger = createLogger("firehose", { level: config.LOG_LEVEL }),
): Promise<FirehoseService> {
  const redis = await connectRedis(config.REDIS_URL, { name: "firehose", log });
  const metrics = firehoseMetrics();
  const publisher = new Publisher(redis, {
    partitions: config.FIREHOSE_PARTITIONS,
    maxLen: config.FIREHOSE_STREAM_MAXLEN,
    source: config.FIREHOSE_SOURCE,
  });
  metrics.registry.gauge(
    "firehose_stream_length",
    "Entries in each event stream",
    ["partition"],
    async (g) => {
      const lengths = await Promise.all(publisher.streamKeys.map((k) => redis.xlen(k)));
      lengths.forEach((n, i) => g.set({ partition: String(i) }, n));
    },
  );
  const limits = { maxRecordBytes: config.FIREHOSE_MAX_RECORD_BYTES, maxMentions: 50 };
  const common = {
    url: config.FIREHOSE_URL,
    batchSize: config.FIREHOSE_BATCH_SIZE,
    batchMs: config.FIREHOSE_BATCH_MS,
    maxPending: config.FIREHOSE_MAX_PENDING,
    limits,
  };
  const subscription: AnySubscription = config.FIREHOSE_VERIFY
    ? new VerifiedSubscription(
      { ...common, plcUrl: config.FIREHOSE_PLC_URL },
      publisher,
      metrics,
      log,
    )
    : new Subscription(
      {
        ...common,
        source: config.FIREHOSE_SOURCE,
        stallMs: config.FIREHOSE_STALL_SECONDS * 1000,
        worker: config.FIREHOSE_DECODE_WORKER,
        maxLen: config.FIREHOSE_STREAM_MAXLEN,
      },
      publisher,
      metrics,
      log,
    );
  const server = serveOps(config.FIREHOSE_METRICS_PORT, metrics.registry, () => ({
    ok: redis.status === "ready" && subscription.connected,
    redis: redis.status,
    connected: subscription.connected,
    cursor: subscription.cursor ?? null,
  }));
  const done = subscription.start();
  return {
    subscription,
    metrics,
    redis,
    port: server.addr.port,
    done,
    async stop() {
      await subscription.stop();
      await server.shutdown();
      redis.disconnect();
    },
  };
}
