/**
 * The real chain for end-to-end tests: a local PDS and PLC, a redis-server, and the real
 * firehose and indexer services between them. Disposing stops them in reverse order, and a
 * failed start stops what had started.
 */
import { createLogger } from "@bsky/shared/log";
import { type LocalPds, startPds } from "@bsky/shared/testing/pds";
import { type RedisServer, startRedisServer } from "@bsky/shared/testing/redis_server";
import { type FirehoseService, startFirehose } from "@bsky/firehose/service";
import { loadFirehoseConfig } from "@bsky/firehose/config";
import { loadIndexerConfig } from "../config.ts";
import { type IndexerService, startIndexer } from "../service.ts";

export interface Chain extends AsyncDisposable {
  pds: LocalPds;
  redisServer: RedisServer;
  firehose: FirehoseService;
  indexer: IndexerService;
}

export async function startChain(): Promise<Chain> {
  const quiet = createLogger("test", { level: "error", write: () => {} });
  await using stack = new AsyncDisposableStack();
  const pds = stack.use(await startPds());
  const redisServer = stack.use(await startRedisServer());
  const env: Record<string, string> = {
    REDIS_URL: redisServer.url,
    FIREHOSE_URL: pds.firehoseUrl,
    FIREHOSE_METRICS_PORT: "0",
    INDEXER_METRICS_PORT: "0",
    FIREHOSE_PARTITIONS: "2",
  };
  const firehose = await startFirehose(loadFirehoseConfig((n) => env[n]), quiet);
  stack.defer(() => firehose.stop());
  const indexer = await startIndexer(loadIndexerConfig((n) => env[n]), quiet);
  stack.defer(() => indexer.stop());
  // Started: the caller owns the stack now (it unwinds in reverse order).
  const owned = stack.move();
  return {
    pds,
    redisServer,
    firehose,
    indexer,
    [Symbol.asyncDispose]: () => owned.disposeAsync(),
  };
}
