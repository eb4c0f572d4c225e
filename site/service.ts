/** Wires the site together: the app and the HTTP server (with its connection limits). */
import { serveHttp } from "@bsky/shared/http_server";
import { createLogger, type Logger } from "@bsky/shared/log";
import type { SiteConfig } from "./config.ts";
import { createSite, type Site } from "./app.ts";

export interface SiteService {
  site: Site;
  port: number;
  stop(): Promise<void>;
}

export async function startSite(
  config: SiteConfig,
  log: Logger = createLogger("site", { level: config.LOG_LEVEL }),
): Promise<SiteService> {
  const site = await createSite({ config, log });
  const server = await serveHttp({
    hostname: config.BIND_HOST,
    port: config.SITE_PORT,
    headersTimeoutMs: config.SITE_HEADERS_TIMEOUT_MS,
    requestTimeoutMs: config.SITE_REQUEST_TIMEOUT_MS,
    idleTimeoutMs: config.SITE_IDLE_TIMEOUT_MS,
  }, (req, info) => site.fetch(req, info));
  log.info("Site listening", { port: server.addr.port, api: config.FART_URL });
  return {
    site,
    port: server.addr.port,
    stop: () => server.shutdown(),
  };
}
