/** The firehose service: relay → normalized events in Redis streams, with their cursor. */
import "@bsky/shared/scoped_env";
import { ConfigError, errorMessage } from "@bsky/shared/errors";
import { createLogger } from "@bsky/shared/log";
import { loadFirehoseConfig } from "./config.ts";
import { startFirehose } from "./service.ts";
import { installIdentityShim } from "./verified.ts";

const log = createLogger("firehose");
try {
  const config = loadFirehoseConfig();
  if (config.FIREHOSE_VERIFY) installIdentityShim();
  const service = await startFirehose(
    config,
    createLogger("firehose", { level: config.LOG_LEVEL }),
  );
  log.info("Firehose service started", { metricsPort: service.port });
  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    log.info("Shutting down");
    await service.stop();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", shutdown);
  Deno.addSignalListener("SIGTERM", shutdown);
  await service.done;
} catch (err) {
  log.error(err instanceof ConfigError ? err.message : "Firehose service failed", {
    err: errorMessage(err),
  });
  Deno.exit(1);
}
