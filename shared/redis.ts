/**
 * The Redis connection every service uses: npm:ioredis with reconnection, exponential
 * backoff with jitter, and a clear error when Redis cannot be reached at start.
 */
import { Redis } from "ioredis";
import { errorMessage, RedisUnavailableError } from "./errors.ts";
import type { Logger } from "./log.ts";

export type { Redis };

export interface RedisOptions {
  /** Shown in Redis' CLIENT LIST and in logs. */
  name: string;
  log?: Logger;
  /** How long connectRedis() waits for the first connection. */
  connectTimeoutMs?: number;
  /**
   * For a server that answers callers: a command fails at once while the connection is down,
   * and after this many ms without an answer, rather than wait for Redis to come back; the
   * client still reconnects by itself. Unset: commands wait in a queue, as the stream
   * consumers want (their delivery stays at-least-once across reconnections).
   */
  failFastMs?: number;
}

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString().replace(/\/$/, "");
  } catch {
    return "(unparsable URL)";
  }
}

/** Delay before reconnect attempt `attempt` (1-based): doubling from 100 ms, capped, jittered. */
export function backoffMs(attempt: number, baseMs = 100, capMs = 5000): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt - 1, 16));
  return Math.round(ceiling / 2 + Math.random() * ceiling / 2);
}

/** Longest pause between reconnection attempts of a fail-fast client. */
const FAIL_FAST_BACKOFF_CAP_MS = 1000;

/**
 * Creates a client that reconnects forever. Commands issued while disconnected wait in
 * the offline queue and run after reconnection, so callers see slowness, not errors;
 * with `failFastMs`, they fail instead (see isRedisUnavailable()).
 */
export function createRedis(url: string, options: RedisOptions): Redis {
  const safe = redactUrl(url);
  const failFast = options.failFastMs !== undefined;
  const client = new Redis(url, {
    connectionName: options.name,
    lazyConnect: true,
    maxRetriesPerRequest: failFast ? 0 : null,
    enableAutoPipelining: false,
    ...(failFast ? { enableOfflineQueue: false, commandTimeout: options.failFastMs } : {}),
    // A fail-fast client's callers are refused until it is back: look again sooner.
    retryStrategy: (times) =>
      failFast ? backoffMs(times, 100, FAIL_FAST_BACKOFF_CAP_MS) : backoffMs(times),
  });
  let down = false;
  client.on("error", (err: Error) => {
    if (!down) options.log?.warn("Redis connection error", { url: safe, err: errorMessage(err) });
    down = true;
  });
  client.on("ready", () => {
    if (down) options.log?.info("Redis connection restored", { url: safe });
    down = false;
  });
  return client;
}

/** What the client's errors say when Redis is away, rather than refusing a command. */
const AWAY_MESSAGES = [
  /^Command timed out$/,
  /enableOfflineQueue options is false/,
  /^Connection is closed\.$/,
  /^Reached the max retries per request limit/,
  /^LOADING /,
];

/**
 * Whether an error means Redis is away (down, unreachable, not answering in time, still
 * loading its data) rather than that it refused a command: the first calls for a 503 and a
 * retry, the second is a bug.
 */
export function isRedisUnavailable(err: unknown): boolean {
  if (err instanceof RedisUnavailableError) return true;
  if (!(err instanceof Error)) return false;
  return AWAY_MESSAGES.some((re) => re.test(err.message)) || isRedisUnavailable(err.cause);
}

/** One consumer group of a stream, as XINFO GROUPS describes it (Redis 7). */
export interface ConsumerGroup {
  name: string;
  consumers: number;
  /** Delivered and not acknowledged. */
  pending: number;
  entriesRead: number | null;
  /** Not delivered yet; null when Redis cannot tell (entries were deleted). */
  lag: number | null;
}

/** The consumer groups of a stream; none when the stream does not exist. */
export async function consumerGroups(redis: Redis, stream: string): Promise<ConsumerGroup[]> {
  const rows = await redis.xinfo("GROUPS", stream).catch(() => []) as unknown[][];
  return rows.map((row) => {
    const f: Record<string, unknown> = {};
    for (let i = 0; i + 1 < row.length; i += 2) f[String(row[i])] = row[i + 1];
    const num = (v: unknown) => v === null || v === undefined ? null : Number(v);
    return {
      name: String(f.name),
      consumers: Number(f.consumers ?? 0),
      pending: Number(f.pending ?? 0),
      entriesRead: num(f["entries-read"]),
      lag: num(f.lag),
    };
  });
}

/** Creates a client and waits until it is ready; throws RedisUnavailableError otherwise. */
export async function connectRedis(url: string, options: RedisOptions): Promise<Redis> {
  const client = createRedis(url, options);
  const timeoutMs = options.connectTimeoutMs ?? 10_000;
  let lastError: unknown;
  const onError = (err: unknown) => lastError = err;
  client.on("error", onError);
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      client.connect(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    await client.ping();
    return client;
  } catch (err) {
    client.disconnect();
    const cause = lastError ?? err;
    throw new RedisUnavailableError(
      `Cannot connect to Redis at "${redactUrl(url)}": ${errorMessage(cause)}`,
      { cause },
    );
  } finally {
    clearTimeout(timer);
    client.off("error", onError);
  }
}

/** The Redis server's clock, in milliseconds since the epoch. */
export async function serverTime(redis: Redis): Promise<number> {
  const [s, us] = await redis.time();
  return Number(s) * 1000 + Math.floor(Number(us) / 1000);
}
