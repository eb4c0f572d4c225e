/**
 * The retention sweep: walks every key and checks that nothing outlives its retention.
 * Keys that must expire and have no TTL are reported by prefix and, when fixing, given the
 * TTL their writer would have set; what the store keeps, and what of it goes (logs past
 * the retention, profiles idle through it), is the store's to say (store/retention.ts).
 * This job walks, reports and applies it, and knows the TTLs of the other services' keys.
 * When fixing, it also reclaims the ids of accounts idle through the retention
 * (store/reclaim.ts): the walk retires them and checks the graph sets against those the
 * last sweep retired, and at its end those still idle go back.
 */
import { crossSlotPipeline, repliesOf } from "@bsky/shared/pipeline";
import { isCluster, type Redis, type RedisClient, scanKeys } from "@bsky/shared/redis";
import { keyPrefix } from "@bsky/store/layout";
import {
  findIdleIds,
  idBucketOf,
  isPastRetention,
  keepNamed,
  profileIdOf,
  pruneIdleProfiles,
  reclaimRetired,
  RetiringCopies,
  retiringIds,
  storeExpiry,
} from "@bsky/store/retention";

export interface SweepOptions {
  retentionDays: number;
  fix: boolean;
  now: number;
  /** Most ids of idle accounts retired per sweep (reclaimed at the next one). */
  maxRetiredIds?: number;
  /**
   * On a Redis Cluster, how long the reclaiming of ids waits, behind its fence, for the
   * writers (indexer batches, backfill parts) to be done (ms; store/reclaim.ts).
   */
  fenceWaitMs?: number;
}

/** What a key of the other services without a TTL should expire at (s), or "keep". */
function serviceExpiry(key: string, nowS: number): number | "keep" {
  const tail = Number(key.slice(key.lastIndexOf(":") + 1));
  if (key.startsWith("stats:{firehose}:ev:m:")) return (tail + 1) * 60 + 49 * 3600;
  if (
    key.startsWith("stats:{firehose}:ev:h:") || /^stats:\{firehose\}:(act:\w+|new):h:/.test(key)
  ) {
    return (tail + 1) * 3600 + 31 * 86400;
  }
  if (/^stats:\{firehose\}:act:\w+:d:/.test(key)) return (tail + 1) * 86400 + 31 * 86400;
  if (key.startsWith("stats:{g}:top:")) return nowS + 7 * 86400;
  if (key.startsWith("fart:")) return nowS + 86400;
  if (key === "sched:{g}:looked_up") return nowS + 7 * 86400;
  return "keep";
}

/** The prefix a key is reported under: up to its hash tag's end, the tag's id generalized. */
export function prefixOf(key: string): string {
  return key.replace(/\{\d+\}/, "{id}").replace(/:\d+$/, ":<n>");
}

export async function sweep(redis: Redis, options: SweepOptions) {
  // Graph sets are checked only while ids retire; on a Cluster against each master's copy of
  // the retiring ids, made once for the walk.
  const retiring = options.fix && await retiringIds(redis) > 0;
  const client = redis as RedisClient;
  const copies = retiring && isCluster(client) ? new RetiringCopies(client) : undefined;
  try {
    return await walk(redis, options, retiring, copies);
  } finally {
    await copies?.close();
  }
}

async function walk(
  redis: Redis,
  options: SweepOptions,
  retiring: boolean,
  copies: RetiringCopies | undefined,
) {
  const { now } = options;
  const nowS = Math.floor(now / 1000);
  const noTtl: Record<string, number> = {};
  const kept: Record<string, number> = {};
  let scanned = 0, fixed = 0, expiredLogs = 0, idleProfiles = 0;
  let idleIds = 0, namedIds = 0;
  const reclaim = {
    ...options,
    maxPerSweep: options.maxRetiredIds,
    fenceWaitMs: options.fenceWaitMs,
  };
  for await (const keys of scanKeys(redis, { count: 2000 })) {
    scanned += keys.length;
    // A page's keys are of many slots: on a cluster, of one node's when it was scanned,
    // wherever they are when read or fixed.
    const ttls = await crossSlotPipeline(redis, keys.map((k) => ["ttl", k])).exec();
    const fix = crossSlotPipeline(redis);
    let fixes = 0;
    const profiles: number[] = [], graphs: string[] = [], buckets: number[] = [];
    keys.forEach((key, k) => {
      const profile = profileIdOf(key);
      if (profile !== undefined) profiles.push(profile);
      if (key.startsWith(keyPrefix("graph"))) graphs.push(key);
      const bucket = idBucketOf(key);
      if (bucket !== undefined) buckets.push(bucket);
      const [err, ttl] = ttls![k] as [Error | null, number];
      if (err) throw err;
      // A log of a week past the retention, whatever its TTL says.
      if (isPastRetention(key, options)) {
        expiredLogs++;
        if (options.fix) (fix.unlink(key), fixes++);
        return;
      }
      if (ttl !== -1) return;
      const at = storeExpiry(key, options) ?? serviceExpiry(key, nowS);
      const prefix = prefixOf(key);
      if (at === "keep") {
        kept[prefix] = (kept[prefix] ?? 0) + 1;
        return;
      }
      noTtl[prefix] = (noTtl[prefix] ?? 0) + 1;
      if (options.fix) {
        fix.expireat(key, Math.max(at, nowS + 1));
        fixes++;
        fixed++;
      }
    });
    // A fix that failed fails the sweep, as a read that failed does.
    if (fixes) repliesOf(await fix.exec());
    if (options.fix) {
      idleProfiles += await pruneIdleProfiles(redis, profiles, options);
      if (retiring) namedIds += await keepNamed(redis, graphs, options, copies);
      idleIds += await findIdleIds(redis, buckets, reclaim);
    }
  }
  const ids = options.fix
    ? await reclaimRetired(redis, reclaim)
    : { reclaimed: 0, retiring: 0, retracted: undefined, fence: undefined };
  return {
    scanned,
    noTtl,
    fixed,
    expiredLogs,
    idleProfiles,
    keptWithoutTtl: kept,
    /**
     * Ids the walk found idle; those a graph set named (kept); reclaimed; now retiring; on a
     * Cluster, retracted (to be freed at the next sweep) and how the fence went.
     */
    ids: {
      idle: idleIds,
      named: namedIds,
      reclaimed: ids.reclaimed,
      retiring: ids.retiring,
      ...(ids.retracted === undefined ? {} : { retracted: ids.retracted, fence: ids.fence }),
    },
  };
}
