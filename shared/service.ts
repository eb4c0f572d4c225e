/** What every service's main.ts and ops endpoints have in common. */
import { DEFAULT_BIND_HOST } from "./config.ts";
import { ConfigError, errorMessage } from "./errors.ts";
import { createLogger, type Logger } from "./log.ts";
import { METRICS_CONTENT_TYPE, type Registry } from "./metrics.ts";

/** How long a stop may take before the process exits anyway. */
const STOP_TIMEOUT_MS = 10_000;

export interface Running {
  stop(): Promise<void>;
  /** Settles when the service ends by itself. */
  done?: Promise<void>;
}

/**
 * Starts a service and stops it cleanly on SIGINT or SIGTERM. A configuration error or a
 * failed start is logged (the message names the variable) and exits with status 1.
 */
export async function runService(
  name: string,
  start: (log: Logger) => Promise<Running>,
): Promise<void> {
  const log = createLogger(name);
  try {
    const service = await start(log);
    let stopping = false;
    const shutdown = async () => {
      if (stopping) return;
      stopping = true;
      log.info("Shutting down");
      // A clean stop writes what is pending; with Redis gone it could wait forever. The
      // durable cursors make giving up safe: what was not written is read again.
      const stopped = await Promise.race([
        service.stop().then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), STOP_TIMEOUT_MS)),
      ]);
      if (!stopped) {
        log.warn("Stopped without finishing the last writes", { timeoutMs: STOP_TIMEOUT_MS });
      }
      Deno.exit(0);
    };
    Deno.addSignalListener("SIGINT", shutdown);
    Deno.addSignalListener("SIGTERM", shutdown);
    await service.done;
  } catch (err) {
    log.error(err instanceof ConfigError ? err.message : `The ${name} service failed`, {
      err: errorMessage(err),
    });
    Deno.exit(1);
  }
}

/**
 * Serves /metrics and /healthz (200 when `health()` says ok, 503 otherwise) on `port` of
 * `hostname` (the service's BIND_HOST).
 */
export function serveOps(
  port: number,
  registry: Registry,
  health: () => Record<string, unknown> & { ok: boolean },
  hostname: string = DEFAULT_BIND_HOST,
): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({ port, hostname, onListen: () => {} }, async (req) => {
    const { pathname } = new URL(req.url);
    if (pathname === "/metrics") {
      return new Response(await registry.render(), {
        headers: { "content-type": METRICS_CONTENT_TYPE },
      });
    }
    if (pathname === "/healthz") {
      const body = health();
      return Response.json(body, { status: body.ok ? 200 : 503 });
    }
    return Response.json({ error: "Not found" }, { status: 404 });
  });
}
