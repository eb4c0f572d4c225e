/** The indexer service: firehose streams → the interaction store. */
import "@bsky/shared/scoped_env";
import { ConfigError, errorMessage } from "@bsky/shared/errors";
import { createLogger } from "@bsky/shared/log";
import { loadIndexerConfig } from "./config.ts";
import { startIndexer } from "./service.ts";

const log = createLogger("indexer");
try {
  const config = loadIndexerConfig();
  const service = await startIndexer(config, createLogger("indexer", { level: config.LOG_LEVEL }));
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
} catch (err) {
  log.error(err instanceof ConfigError ? err.message : "Indexer failed", {
    err: errorMessage(err),
  });
  Deno.exit(1);
}
