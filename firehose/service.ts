/** Wires the firehose together: Redis, publisher, subscription and the metrics server. */
import { createLogger, type Logger } from "@bsky/shared/log";
import { serveOps } from "@bsky/shared/service";
import { connectRedis, isCluster, type Redis } from "@bsky/shared/redis";
import { errorMessage } from "@bsky/shared/errors";
import { readWatch, WATCH_REFRESH_MS } from "@bsky/shared/watch";
import type { FirehoseConfig } from "./config.ts";
import { type FirehoseMetrics, firehoseMetrics } from "./metrics.ts";
import type { Limits } from "./normalize.ts";
import { Publisher } from "./publisher.ts";
import { Subscription } from "./subscription.ts";
import { VerifiedSubscription } from "./verified.ts";

/** What the service needs of either subscription. */
export interface AnySubscription {
  readonly connected: boolean;
  readonly cursor: number | undefined;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Replaces the accounts whose mentions carry what a reply needs. */
  watch(dids: readonly string[]): void;
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
  const redis = await connectRedis(config, { name: "firehose", log });
  const metrics = firehoseMetrics();
  const cluster = isCluster(redis);
  const waitReplicas = config.FIREHOSE_WAIT_REPLICAS ?? (cluster ? 1 : 0);
  const shortfalls = metrics.registry.counter(
    "firehose_wait_shortfalls_total",
    "Writes that fewer replicas than FIREHOSE_WAIT_REPLICAS acknowledged in time",
  );
  const publisher = new Publisher(redis, {
    partitions: config.FIREHOSE_PARTITIONS,
    maxLen: config.FIREHOSE_STREAM_MAXLEN,
    source: config.FIREHOSE_SOURCE,
    bestEffortGroups: config.FIREHOSE_BEST_EFFORT_GROUPS.split(",").map((g) => g.trim())
      .filter(Boolean),
    waitReplicas,
    log,
    onWaitShortfall: (key, acknowledged) => {
      shortfalls.inc();
      log.warn(
        "A write reached fewer replicas than asked; its node's writes wait no more for a while",
        {
          key,
          acknowledged,
          asked: waitReplicas,
        },
      );
    },
  });
  if (cluster) {
    log.info("Writing to a Redis Cluster", {
      partitions: config.FIREHOSE_PARTITIONS,
      waitReplicas,
    });
  }
  metrics.registry.gauge(
    "firehose_stream_length",
    "Entries in each event stream",
    ["partition"],
    async (g) => {
      const lengths = await Promise.all(publisher.streamKeys.map((k) => redis.xlen(k)));
      lengths.forEach((n, i) => g.set({ partition: String(i) }, n));
    },
  );
  const limits: Limits = { maxRecordBytes: config.FIREHOSE_MAX_RECORD_BYTES, maxMentions: 50 };
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
  }), config.BIND_HOST);
  // The watch list is read before the first frame and every few seconds after.
  const watched = metrics.registry.gauge(
    "firehose_watched_accounts",
    "Accounts whose mentions carry what a reply needs (shared/watch.ts)",
  );
  let watching = "";
  const refreshWatch = async () => {
    try {
      const dids = await readWatch(redis, Date.now());
      if (dids.join(" ") === watching) return;
      watching = dids.join(" ");
      subscription.watch(dids);
      watched.set(undefined, dids.length);
      log.info("Watching the mentions of accounts", { accounts: dids.length });
    } catch (err) {
      log.warn("Cannot read the watch list", { err: errorMessage(err) });
    }
  };
  await refreshWatch();
  const watchTimer = setInterval(refreshWatch, WATCH_REFRESH_MS);
  const done = subscription.start();
  return {
    subscription,
    metrics,
    redis,
    port: server.addr.port,
    done,
    async stop() {
      clearInterval(watchTimer);
      await subscription.stop();
      await server.shutdown();
      redis.disconnect();
    },
  };
}
