/**
 * Wires the API together: Redis, the app, the HTTP server (with its connection limits), and
 * /metrics with /healthz on a port of their own for operators.
 */
import { serveHttp } from "@bsky/shared/http_server";
import { createLogger, type Logger } from "@bsky/shared/log";
import { connectRedis, type Redis } from "@bsky/shared/redis";
import { serveOps } from "@bsky/shared/service";
import { type App, createApp } from "./app.ts";
import type { FartConfig } from "./config.ts";

export interface FartService {
  app: App;
  redis: Redis;
  port: number;
  /** The port of /metrics and /healthz. */
  metricsPort: number;
  stop(): Promise<void>;
}

export async function startFart(
  config: FartConfig,
  log: Logger = createLogger("fart", { level: config.LOG_LEVEL }),
): Promise<FartService> {
  // Callers get a 503 at once while Redis is away, rather than wait for it to come back.
  const redis = await connectRedis(config, {
    name: "fart",
    log,
    failFastMs: config.FART_REDIS_TIMEOUT_MS,
  });
  const app = createApp({ redis, config, log });
  const server = await serveHttp({
    hostname: config.BIND_HOST,
    port: config.FART_PORT,
    headersTimeoutMs: config.FART_HEADERS_TIMEOUT_MS,
    requestTimeoutMs: config.FART_REQUEST_TIMEOUT_MS,
    idleTimeoutMs: config.FART_IDLE_TIMEOUT_MS,
  }, (req, info) => app.fetch(req, info));
  const ops = serveOps(
    config.FART_METRICS_PORT,
    app.metrics.registry,
    () => ({ ok: redis.status === "ready", redis: redis.status }),
    config.BIND_HOST,
  );
  log.info("API listening", { port: server.addr.port, metricsPort: ops.addr.port });
  return {
    app,
    redis,
    port: server.addr.port,
    metricsPort: ops.addr.port,
    async stop() {
      await Promise.all([server.shutdown(), ops.shutdown()]);
      app.close();
      redis.disconnect();
    },
  };
}
