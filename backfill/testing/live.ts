/**
 * The live chain on a given PDS and redis-server: the real firehose and indexer services,
 * as indexer/testing/chain.ts runs them, for tests where the PDS has data before the
 * platform starts. Disposing stops them.
 */
import { loadFirehoseConfig } from "@bsky/firehose/config";
import { startFirehose } from "@bsky/firehose/service";
import { loadIndexerConfig } from "@bsky/indexer/config";
import { startIndexer } from "@bsky/indexer/service";
import { createLogger } from "@bsky/shared/log";
import type { Redis } from "@bsky/shared/redis";

export interface Live extends AsyncDisposable {
  /** The indexer's connection: the store to query. */
  redis: Redis;
}

export async function startLive(firehoseUrl: string, redisUrl: string): Promise<Live> {
  const quiet = createLogger("test", { level: "error", write: () => {} });
  await using stack = new AsyncDisposableStack();
  const env: Record<string, string> = {
    REDIS_URL: redisUrl,
    FIREHOSE_URL: firehoseUrl,
    FIREHOSE_METRICS_PORT: "0",
    INDEXER_METRICS_PORT: "0",
    FIREHOSE_PARTITIONS: "2",
  };
  const firehose = await startFirehose(loadFirehoseConfig((n) => env[n]), quiet);
  stack.defer(() => firehose.stop());
  const indexer = await startIndexer(loadIndexerConfig((n) => env[n]), quiet);
  stack.defer(() => indexer.stop());
  const owned = stack.move();
  return { redis: indexer.redis, [Symbol.asyncDispose]: () => owned.disposeAsync() };
}
