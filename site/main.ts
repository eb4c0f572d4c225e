/** The site: server-rendered pages with hydrated islands, reading from the API. */
import { createLogger } from "@bsky/shared/log";
import { runService } from "@bsky/shared/service";
import { loadSiteConfig } from "./config.ts";
import { startSite } from "./service.ts";

await runService("site", async () => {
  const config = loadSiteConfig();
  return await startSite(config, createLogger("site", { level: config.LOG_LEVEL }));
});
