/**
 * Test helper: the API's handler over a real redis-server that the real applier writes,
 * with every request the API makes to the network recorded. Identity and avatar hosts are
 * whatever the test's env names (a stand-in network, or servers of the test's own).
 */
import { createLogger } from "@bsky/shared/log";
import { connectRedis, type Redis } from "@bsky/shared/redis";
import { startRedisServer } from "@bsky/shared/testing/redis_server";
import { Applier } from "@bsky/store/apply";
import { type App, createApp } from "../app.ts";
import { loadFartConfig } from "../config.ts";

export interface TestApi {
  redis: Redis;
  /** redis://127.0.0.1:port of the test's redis-server. */
  redisUrl: string;
  app: App;
  applier: Applier;
  /** A GET (or `init`) to the API, as a client at 192.0.2.1. */
  get(path: string, init?: RequestInit): Promise<Response>;
  /** Every URL the API fetched, in order. */
  fetched: URL[];
}

export async function withTestApi(
  env: Record<string, string>,
  fn: (api: TestApi) => Promise<void>,
): Promise<void> {
  await using server = await startRedisServer();
  const redis = await connectRedis(server.url, { name: "test" });
  const fetched: URL[] = [];
  const recording: typeof fetch = (input, init) => {
    fetched.push(new URL(input instanceof Request ? input.url : input));
    return fetch(input, init);
  };
  const config = loadFartConfig((n) => ({ REDIS_URL: server.url, ...env })[n]);
  const app = createApp({
    redis,
    config,
    log: createLogger("fart", { write: () => {} }),
    fetch: recording,
  });
  try {
    await fn({
      redis,
      redisUrl: server.url,
      app,
      applier: new Applier(redis, { retentionDays: 30, memoryHours: 48 }),
      get: (path, init) =>
        app.fetch(new Request(`http://api.test${path}`, init), {
          remoteAddr: { hostname: "192.0.2.1" },
        }),
      fetched,
    });
  } finally {
    app.close();
    redis.disconnect();
  }
}
