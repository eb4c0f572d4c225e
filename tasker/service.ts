/**
 * Wires the tasker together: Redis, the bot's session with its PDS, the API, the ledger,
 * the replier, the stream consumer and /metrics. Signing in happens in the background with
 * backoff, so a PDS that is down or refuses the password delays replies (and /healthz says
 * so) instead of stopping the process; only once signed in does the tasker register the
 * bot in the watch list and start reading.
 */
import { type Clock, systemClock } from "@bsky/shared/clock";
import { errorMessage } from "@bsky/shared/errors";
import { firehoseKeys } from "@bsky/shared/keys";
import { createLogger, type Logger } from "@bsky/shared/log";
import { connectRedis, type Redis } from "@bsky/shared/redis";
import { serveOps } from "@bsky/shared/service";
import { registerWatch, WATCH_TTL_MS } from "@bsky/shared/watch";
import { ApiClient } from "./api.ts";
import type { TaskerConfig } from "./config.ts";
import { MentionConsumer } from "./consumer.ts";
import { backoff, sleep } from "./http.ts";
import { Ledger } from "./ledger.ts";
import { type TaskerMetrics, taskerMetrics } from "./metrics.ts";
import { PdsSession } from "./pds.ts";
import { Replier } from "./replier.ts";

export interface TaskerService {
  consumer: MentionConsumer;
  replier: Replier;
  pds: PdsSession;
  metrics: TaskerMetrics;
  redis: Redis;
  port: number;
  /** Settles once signed in and reading (or stopped before). */
  ready: Promise<void>;
  stop(): Promise<void>;
}

export async function startTasker(
  config: TaskerConfig,
  log: Logger = createLogger("tasker", { level: config.LOG_LEVEL }),
  clock: Clock = systemClock,
  name = `tasker-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`,
): Promise<TaskerService> {
  const redis = await connectRedis(config, { name: "tasker", log });
  const metrics = taskerMetrics();
  metrics.registry.gauge(
    "tasker_pending_entries",
    "Entries read by the tasker's group and not yet acknowledged, per partition",
    ["partition"],
    async (g) => {
      for (let p = 0; p < config.FIREHOSE_PARTITIONS; p++) {
        const [count] = await redis.xpending(firehoseKeys.stream(p), config.TASKER_GROUP)
          .catch(() => [0]) as [number];
        g.set({ partition: String(p) }, count);
      }
    },
  );
  const pds = new PdsSession({
    serviceUrl: config.TASKER_SERVICE_URL,
    identifier: config.TASKER_IDENTIFIER,
    password: config.TASKER_APP_PASSWORD,
    clock,
    onAnswer: (method, status) => metrics.pds.inc({ method, status: String(status) }),
  });
  const api = new ApiClient(config.FART_URL, config.TASKER_FART_KEY, clock);
  const replier = new Replier(redis, new Ledger(redis), pds, api, clock, metrics, log, {
    cooldownMs: config.TASKER_COOLDOWN_SECONDS * 1000,
    maxAgeMs: config.TASKER_MAX_AGE_SECONDS * 1000,
    perHour: config.TASKER_REPLIES_PER_HOUR,
    siteUrl: config.SITE_PUBLIC_URL,
    crashAt: config.TASKER_TEST_CRASH_AT,
  });
  const consumer = new MentionConsumer(redis, (e) => replier.handle(e), metrics, log, {
    partitions: config.FIREHOSE_PARTITIONS,
    group: config.TASKER_GROUP,
    name,
    batchSize: 500,
    leaseMs: config.TASKER_LEASE_MS,
    concurrency: config.TASKER_CONCURRENCY,
    maxAgeMs: config.TASKER_MAX_AGE_SECONDS * 1000,
  });
  const server = serveOps(config.TASKER_METRICS_PORT, metrics.registry, () => ({
    ok: redis.status === "ready" && pds.signedIn,
    redis: redis.status,
    signedIn: pds.signedIn,
    account: pds.did || null,
    partitions: consumer.owned,
  }), config.BIND_HOST);

  let stopped = false;
  let renewal: ReturnType<typeof setInterval> | undefined;
  const register = () =>
    registerWatch(redis, pds.did, clock.now()).catch((err) =>
      log.warn("Cannot register the bot in the watch list", { err: errorMessage(err) })
    );
  const ready = (async () => {
    for (let attempt = 1; !stopped; attempt++) {
      try {
        await pds.login();
        break;
      } catch (err) {
        const inMs = backoff(attempt, 2000, 300_000);
        log.error("Cannot sign in to the PDS; trying again", {
          service: config.TASKER_SERVICE_URL,
          err: errorMessage(err),
          inMs,
        });
        await sleep(inMs);
      }
    }
    if (stopped) return;
    log.info("Signed in", { account: pds.did, handle: pds.handle });
    await register();
    renewal = setInterval(register, WATCH_TTL_MS / 3);
    consumer.start();
    log.info("Tasker started", { name, partitions: config.FIREHOSE_PARTITIONS });
  })();

  return {
    consumer,
    replier,
    pds,
    metrics,
    redis,
    port: server.addr.port,
    ready,
    async stop() {
      stopped = true;
      clearInterval(renewal);
      await consumer.stop();
      await server.shutdown();
      redis.disconnect();
    },
  };
}
