/** The firehose service: relay → normalized events in Redis streams, with their cursor. */
import "@bsky/shared/scoped_env";
import { createLogger } from "@bsky/shared/log";
import { runService } from "@bsky/shared/service";
import { loadFirehoseConfig } from "./config.ts";
import { startFirehose } from "./service.ts";
import { installIdentityShim } from "./verified.ts";

await runService("firehose", async (log) => {
  const config = loadFirehoseConfig();
  if (config.FIREHOSE_VERIFY) installIdentityShim();
  const service = await startFirehose(
    config,
    createLogger("firehose", { level: config.LOG_LEVEL }),
  );
  log.info("Firehose service started", { metricsPort: service.port });
  return service;
});
