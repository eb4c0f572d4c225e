/**
 * The redis-server settings the platform relies on, in one place: every redis-server the
 * platform starts (scripts/local_redis.ts, compose.yaml, the test and bench servers, the test
 * cluster) runs with them, and the indexer checks a server it did not start
 * (checkServerSettings).
 *
 * Lazy freeing: the store's big values (a celebrity's week log of megabytes, a digest or a
 * follow set of hundreds of thousands of fields, a record memory bucket) are freed in a
 * background thread when they expire, are evicted, overwritten or deleted, instead of on the
 * main thread, where freeing one such value blocks every client for tens of milliseconds.
 * Redis 7's defaults leave all four off.
 */
import type { Logger } from "./log.ts";
// Types only: the scripts that start a redis-server import this without a Redis client.
import type { Cluster, Redis, RedisClient } from "./redis.ts";

export const SERVER_SETTINGS: Readonly<Record<string, string>> = {
  "lazyfree-lazy-expire": "yes",
  "lazyfree-lazy-eviction": "yes",
  "lazyfree-lazy-server-del": "yes",
  "lazyfree-lazy-user-del": "yes",
};

/** The settings as redis-server command-line arguments. */
export function serverArgs(): string[] {
  return Object.entries(SERVER_SETTINGS).flatMap(([name, value]) => [`--${name}`, value]);
}

/**
 * The settings a server (every master of a Cluster) has otherwise, as "name=value" lines;
 * empty when all are set or when the server does not let us read them (CONFIG may be
 * renamed or refused on a managed Redis: nothing to say then).
 */
export async function settingsOff(redis: RedisClient): Promise<string[]> {
  const nodes: Redis[] = redis.isCluster ? (redis as Cluster).nodes("master") : [redis as Redis];
  const off = new Set<string>();
  for (const node of nodes) {
    for (const [name, wanted] of Object.entries(SERVER_SETTINGS)) {
      const reply = await node.config("GET", name).catch(() => undefined) as string[] | undefined;
      // Refused on this node (a managed Redis): nothing to say of it.
      if (reply === undefined) break;
      const value = reply[1];
      if (value !== undefined && value !== wanted) off.add(`${name}=${value}`);
    }
  }
  return [...off].sort();
}

/** Logs a warning naming the settings a server runs without (see settingsOff). */
export async function checkServerSettings(redis: RedisClient, log: Logger): Promise<void> {
  const off = await settingsOff(redis);
  if (off.length === 0) return;
  log.warn(
    "Redis runs without lazy freeing: freeing a heavy account's keys will block it; set each to yes",
    { settings: off.join(" ") },
  );
}
