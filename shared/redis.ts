/**
 * The Redis connection every service uses: npm:ioredis with reconnection, exponential
 * backoff with jitter, and a clear error when Redis cannot be reached at start. With
 * REDIS_CLUSTER_NODES set, a Redis Cluster client instead (see connectRedis()).
 */
import { Cluster, Redis } from "ioredis";
import { ClusterUnsettledError, slotOwners } from "./cluster.ts";
import { errorMessage, RedisUnavailableError } from "./errors.ts";
import type { Logger } from "./log.ts";

export type { Cluster, Redis };

/** Either client: a single server's or a Redis Cluster's. */
export type RedisClient = Redis | Cluster;

/**
 * Where Redis is: a URL, or a service's configuration, whose REDIS_CLUSTER_NODES (seed nodes
 * of a Redis Cluster), when it lists any, wins over its REDIS_URL.
 */
export type RedisTarget = string | {
  REDIS_URL: string;
  REDIS_CLUSTER_NODES?: readonly string[];
};

/** Whether the client talks to a Redis Cluster. */
export function isCluster(client: RedisClient): client is Cluster {
  return client.isCluster === true;
}

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

/** Logs the first error of an outage and its end, once each. */
function logOutages(client: RedisClient, where: string, options: RedisOptions) {
  let down = false;
  client.on("error", (err: Error) => {
    if (!down) options.log?.warn("Redis connection error", { url: where, err: errorMessage(err) });
    down = true;
  });
  client.on("ready", () => {
    if (down) options.log?.info("Redis connection restored", { url: where });
    down = false;
  });
}

/** "host:port" as ioredis takes a cluster node (brackets off an IPv6 address). */
function clusterNode(hostPort: string): { host: string; port: number } {
  const at = hostPort.lastIndexOf(":");
  return {
    host: hostPort.slice(0, at).replace(/^\[(.*)\]$/, "$1"),
    port: Number(hostPort.slice(at + 1)),
  };
}

/**
 * A Redis Cluster client from its seed nodes, with the same behaviour as createRedis():
 * commands wait while the cluster is away (or fail at once with `failFastMs`), and it
 * reconnects forever. It follows MOVED and ASK redirections and a failover by itself.
 */
export function createCluster(nodes: readonly string[], options: RedisOptions): Cluster {
  const failFast = options.failFastMs !== undefined;
  const client = new Cluster(nodes.map(clusterNode), {
    lazyConnect: true,
    enableAutoPipelining: false,
    enableOfflineQueue: !failFast,
    clusterRetryStrategy: (times) =>
      failFast ? backoffMs(times, 100, FAIL_FAST_BACKOFF_CAP_MS) : backoffMs(times),
    redisOptions: {
      connectionName: options.name,
      maxRetriesPerRequest: failFast ? 0 : null,
      ...(failFast ? { commandTimeout: options.failFastMs } : {}),
    },
  });
  logOutages(client, `cluster ${nodes.join(",")}`, options);
  return client;
}

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
  logOutages(client, safe, options);
  return client;
}

/** What the client's errors say when Redis is away, rather than refusing a command. */
const AWAY_MESSAGES = [
  /^Command timed out$/,
  /enableOfflineQueue options is false/,
  /^Connection is closed\.$/,
  /^Reached the max retries per request limit/,
  /^LOADING /,
  // A Redis Cluster between a node's failure and its replica's promotion, or all away.
  /^CLUSTERDOWN /,
  /^TRYAGAIN /,
  /^Too many Cluster redirections/,
  /^None of startup nodes is available/,
  /^Failed to refresh slots cache/,
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
export async function consumerGroups(redis: RedisClient, stream: string): Promise<ConsumerGroup[]> {
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

/**
 * Creates a client and waits until it is ready; throws RedisUnavailableError otherwise.
 * Given a configuration whose REDIS_CLUSTER_NODES lists nodes, the client is a Redis
 * Cluster's (an ioredis Cluster). It is typed as Redis so that every caller compiles as it
 * is: what it runs is the same for keys of one hash slot; a script, MULTI or multi-key
 * command over keys of several slots is refused (CROSSSLOT), and keyless commands (SCAN,
 * KEYS, INFO, DBSIZE, FLUSHALL, TIME) go to one node of the cluster. isCluster() tells.
 */
export async function connectRedis(target: RedisTarget, options: RedisOptions): Promise<Redis> {
  const nodes = typeof target === "string" ? [] : target.REDIS_CLUSTER_NODES ?? [];
  const url = typeof target === "string" ? target : target.REDIS_URL;
  const client: RedisClient = nodes.length > 0
    ? createCluster(nodes, options)
    : createRedis(url, options);
  const where = nodes.length > 0
    ? `the Redis Cluster at ${nodes.join(",")}`
    : `"${redactUrl(url)}"`;
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
    return client as Redis;
  } catch (err) {
    client.disconnect();
    const cause = lastError ?? err;
    throw new RedisUnavailableError(
      `Cannot connect to Redis at ${where}: ${errorMessage(cause)}`,
      { cause },
    );
  } finally {
    clearTimeout(timer);
    client.off("error", onError);
  }
}

/** The Redis server's clock, in milliseconds since the epoch. */
export async function serverTime(redis: RedisClient): Promise<number> {
  const [s, us] = await redis.time();
  return Number(s) * 1000 + Math.floor(Number(us) / 1000);
}

/** What scanKeys() asks SCAN for: keys matching a pattern, about `count` a page. */
export interface ScanOptions {
  match?: string;
  /** SCAN's COUNT hint; 1000 unless given. */
  count?: number;
}

/**
 * Every key (matching `match`), a page at a time: one SCAN walk of the server or, on a Redis
 * Cluster, where SCAN walks the node it is sent to, one of each master in turn. A page comes
 * from one node, so a pipeline over its keys goes to one node too, as a Cluster pipeline must.
 * The next page is asked for while the caller handles this one. As with SCAN, a key there
 * throughout the walk is found at least once, and may be found twice; empty pages are skipped.
 * On a Cluster the walk needs the slots to stand still: it throws ClusterUnsettledError
 * (cluster.ts) before it starts when a slot is migrating or the masters it reaches do not
 * serve every slot, and at its end when a slot moved meanwhile, since keys may then have
 * been missed; the caller tries again later.
 */
export async function* scanKeys(
  redis: RedisClient,
  options: ScanOptions = {},
): AsyncGenerator<string[], void, undefined> {
  const count = options.count ?? 1000;
  const { match } = options;
  const owners = isCluster(redis) ? await slotOwners(redis) : undefined;
  const nodes: Redis[] = isCluster(redis) ? redis.nodes("master") : [redis];
  for (const node of nodes) {
    const page = (cursor: string) =>
      match === undefined
        ? node.scan(cursor, "COUNT", count)
        : node.scan(cursor, "MATCH", match, "COUNT", count);
    let next: Promise<[string, string[]]> | undefined = page("0");
    try {
      while (next) {
        const [cursor, keys]: [string, string[]] = await next;
        next = cursor === "0" ? undefined : page(cursor);
        if (keys.length > 0) yield keys;
      }
    } finally {
      // A caller that stops early leaves a page asked for: its failure is nobody's.
      next?.catch(() => {});
    }
  }
  if (owners !== undefined && isCluster(redis) && await slotOwners(redis) !== owners) {
    throw new ClusterUnsettledError("slots moved during the walk of every master");
  }
}
