/** Wires the site together: the app and the HTTP server. */
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
  const server = Deno.serve(
    { port: config.SITE_PORT, hostname: config.BIND_HOST, onListen: () => {} },
    (req) => site.fetch(req),
  );
  log.info("Site listening", { port: server.addr.port, api: config.FART_URL });
  return {
    site,
    port: server.addr.port,
    stop: () => server.shutdown(),
  };
}
