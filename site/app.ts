/**
 * The site as one fetch handler (`(await createSite(deps)).fetch`), so tests call it
 * without a socket and main.ts serves it. Loading reads routes/ and islands/ and bundles the
 * islands, once.
 */
import type { Logger } from "@bsky/shared/log";
import { ApiClient } from "./api.ts";
import type { SiteConfig } from "./config.ts";
import { Assets } from "./server/assets.ts";
import { createRouter, loadManifest, type Manifest } from "./server/router.ts";
import { VisitorLimiter } from "./visitor_limit.ts";

export interface SiteDeps {
  config: SiteConfig;
  log: Logger;
  /** How the site reaches the API; tests pass the API's in-memory handler. */
  fetch?: typeof fetch;
}

export interface Site {
  /** A page for a request; `info` says where it comes from (the visitor's address). */
  fetch(req: Request, info?: { remoteAddr: { hostname: string } }): Promise<Response>;
  api: ApiClient;
  assets: Assets;
  manifest: Manifest;
}

/** The folder this module lives in: routes/, islands/ and static/ are read from it. */
export const SITE_DIR = new URL(".", import.meta.url).pathname.replace(/\/$/, "");

export async function createSite(deps: SiteDeps): Promise<Site> {
  const { config, log } = deps;
  const manifest = await loadManifest(SITE_DIR);
  const assets = await Assets.build(SITE_DIR, manifest.islands);
  const api = new ApiClient({
    baseUrl: config.FART_URL,
    key: config.SITE_FART_KEY || undefined,
    cacheSeconds: config.SITE_CACHE_SECONDS,
    fetch: deps.fetch,
    limiter: new VisitorLimiter(config.SITE_RATE_PER_IP),
  });
  const fetch = createRouter({ manifest, assets, log, context: { api, config } });
  return { fetch, api, assets, manifest };
}
