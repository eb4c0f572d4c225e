/** FART, the HTTP API: the interaction store and global statistics over HTTP. */
import "@bsky/shared/scoped_env";
import { createLogger } from "@bsky/shared/log";
import { runService } from "@bsky/shared/service";
import { loadFartConfig } from "./config.ts";
import { startFart } from "./service.ts";

await runService("fart", async () => {
  const config = loadFartConfig();
  return await startFart(config, createLogger("fart", { level: config.LOG_LEVEL }));
});
