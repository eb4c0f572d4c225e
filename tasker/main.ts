/** The tasker service: a bot that answers mentions with circles, live off the streams. */
import "@bsky/shared/scoped_env";
import { createLogger } from "@bsky/shared/log";
import { runService } from "@bsky/shared/service";
import { loadTaskerConfig } from "./config.ts";
import { startTasker } from "./service.ts";

await runService("tasker", async () => {
  const config = loadTaskerConfig();
  return await startTasker(config, createLogger("tasker", { level: config.LOG_LEVEL }));
});
