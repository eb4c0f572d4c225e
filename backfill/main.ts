/**
 * `deno task backfill`: loads every repository of BACKFILL_SOURCE_URL once (see run.ts),
 * with progress in the log and on /metrics of BACKFILL_METRICS_PORT, and exits 0 when the
 * run went through the whole listing (failures recorded for a later run included). Ctrl-C
 * or SIGTERM stops it where it is (exit 1); the next run goes on from there.
 */
import "@bsky/shared/scoped_env";
import { systemClock } from "@bsky/shared/clock";
import { ConfigError, errorMessage } from "@bsky/shared/errors";
import { createLogger } from "@bsky/shared/log";
import { connectRedis, type Redis } from "@bsky/shared/redis";
import { serveOps } from "@bsky/shared/service";
import { loadBackfillConfig } from "./config.ts";
import { backfillMetrics } from "./metrics.ts";
import { runBackfill } from "./run.ts";

let log = createLogger("backfill");
let redis: Redis | undefined;
let server: Deno.HttpServer | undefined;
let code = 0;
try {
  const config = loadBackfillConfig();
  log = createLogger("backfill", { level: config.LOG_LEVEL });
  redis = await connectRedis(config, { name: "backfill", log });
  const metrics = backfillMetrics();
  const r = redis;
  server = serveOps(
    config.BACKFILL_METRICS_PORT,
    metrics.registry,
    () => ({ ok: r.status === "ready", redis: r.status }),
    config.BIND_HOST,
  );
  const stop = new AbortController();
  const onSignal = () => {
    log.info("Stopping: the next run goes on from here");
    stop.abort(new Error("stopped"));
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  const summary = await runBackfill({
    ...config,
    redis,
    log,
    clock: systemClock,
    metrics,
    signal: stop.signal,
  });
  const through = summary.state !== "listing";
  log.info(through ? "Backfill done" : "Backfill stopped", { ...summary });
  code = through ? 0 : 1;
} catch (err) {
  log.error(err instanceof ConfigError ? err.message : "The backfill failed", {
    err: errorMessage(err),
  });
  code = 1;
} finally {
  await server?.shutdown();
  redis?.disconnect();
}
Deno.exit(code);
