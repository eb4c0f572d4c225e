/** The scheduler service: periodic jobs over the store (needs --unstable-cron). */
import "@bsky/shared/scoped_env";
import { createLogger } from "@bsky/shared/log";
import { runService } from "@bsky/shared/service";
import { loadSchedulerConfig } from "./config.ts";
import { startScheduler } from "./service.ts";

await runService("scheduler", async () => {
  const config = loadSchedulerConfig();
  return await startScheduler(config, createLogger("scheduler", { level: config.LOG_LEVEL }));
});
