/** The indexer service: firehose streams → the interaction store. */
import "@bsky/shared/scoped_env";
import { createLogger } from "@bsky/shared/log";
import { runService } from "@bsky/shared/service";
import { loadIndexerConfig } from "./config.ts";
import { startIndexer } from "./service.ts";

await runService("indexer", async () => {
  const config = loadIndexerConfig();
  return await startIndexer(config, createLogger("indexer", { level: config.LOG_LEVEL }));
});
