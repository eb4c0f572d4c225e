/**
 * What the store keeps and for how long, for the retention sweep (the scheduler's `sweep`
 * job walks every key and asks here about the store's): the TTL each store key should
 * have, the logs past the retention (deleted whatever their TTL says), and the profiles of
 * accounts idle through the retention (deleted with their handle index entries by
 * scripts/prune_profiles.lua, atomically with respect to the indexer), and the ids of
 * accounts idle through it (reclaim.ts: they wait one whole sweep, then go back, and the
 * interning's epoch tells the indexer to read its cached ids again).
 */
import { crossSlotPipeline, repliesOf } from "@bsky/shared/pipeline";
import { type Cluster, isCluster, type Redis, type RedisClient } from "@bsky/shared/redis";
import {
  DAY_MS,
  HOUR_MS,
  INTERNING_KEYS,
  type KeyName,
  keyPrefix,
  keyValues,
  storeKeys,
  WEEK_HOURS,
} from "./layout.ts";
import { keptLanguageHours } from "./languages.ts";
import { dropHandleEntries } from "./profiles.ts";
import { defineScript, withKeys } from "./lua.ts";
import pruneProfiles from "./scripts/prune_profiles.lua" with { type: "text" };

export interface RetentionOptions {
  retentionDays: number;
  /** The instant the sweep runs at. */
  now: number;
}

const WEEK_S = WEEK_HOURS * 3600;
/** How long a record bucket or a set found without a TTL is given, from now. */
const RECORDS_TTL_S = 7 * 86400;

/**
 * When a store key found without a TTL should expire (seconds since the epoch, as its
 * writer would have set it); "keep" for the store's other keys, which the sweep leaves as
 * they are (profiles, blocks as they stand and the deleted accounts whose blocks are still
 * ending, the handle index, the hidden set, the interning, opt codes, the record bucket
 * counts, the indexer's lease, parked entries and settings);
 * undefined for a key that is not the store's.
 */
export function storeExpiry(key: string, options: RetentionOptions): number | "keep" | undefined {
  const nowS = Math.floor(options.now / 1000), retentionS = options.retentionDays * 86400;
  if (isWeekly(key)) return (weekOf(key) + 1) * WEEK_S + retentionS;
  if (key.startsWith(keyPrefix("graph"))) return nowS + retentionS;
  // Posts by language: the hour's end and the retention, as its writer sets it.
  const lp = key.startsWith(keyPrefix("languagePosts"));
  if (lp) return (lastNumber(key) + 1) * 3600 + retentionS;
  if (key.startsWith(keyPrefix("records"))) return nowS + RECORDS_TTL_S;
  return KEPT.some((name) => key.startsWith(keyPrefix(name))) ? "keep" : undefined;
}

/** The last part of a key, as a number: the hour of `lp:{g}:<hour>`. */
const lastNumber = (key: string) => Number(key.slice(key.lastIndexOf(":") + 1));

/** Store keys the sweep leaves without a TTL. */
const KEPT: KeyName[] = [
  "profile",
  "blocking",
  "blockedBy",
  "blocksEnding",
  "handles",
  "hidden",
  "optCode",
  ...INTERNING_KEYS,
  "recordBuckets",
  "lease",
  "parked",
  "settings",
  "slotWatermarks",
];

/** The week of a log or digest key (its last part). */
const weekOf = (key: string) => Number(key.slice(key.lastIndexOf(":") + 1));

/** A log, or the day digests of one (which expire with it). */
const isWeekly = (key: string) =>
  key.startsWith(keyPrefix("log")) || key.startsWith(keyPrefix("digest"));

/**
 * Whether `key` is a log (or a log's digests) of a week wholly past the retention, or the
 * posts by language of an hour past it, to delete whatever its TTL.
 */
export function isPastRetention(key: string, options: RetentionOptions): boolean {
  if (key.startsWith(keyPrefix("languagePosts"))) {
    return lastNumber(key) < keptLanguageHours(options.now, options.retentionDays).first;
  }
  if (!isWeekly(key)) return false;
  const week = weekOf(key);
  const nowS = Math.floor(options.now / 1000);
  return (week + 1) * WEEK_S + options.retentionDays * 86400 <= nowS &&
    week < Math.floor(options.now / HOUR_MS / WEEK_HOURS);
}

/** The account id of a profile key (`p:{id}`), or undefined for any other key. */
export function profileIdOf(key: string): number | undefined {
  const id = keyValues("profile", key)?.[0];
  return id !== undefined && /^\d+$/.test(id) ? Number(id) : undefined;
}

export {
  findIdleIds,
  idBucketOf,
  keepNamed,
  reclaimRetired,
  RetiringCopies,
  retiringIds,
} from "./reclaim.ts";

const PRUNE_SCRIPT = withKeys(pruneProfiles);

/** Blocks of deleted accounts taken out of their blockers' lists per call, at most. */
export const UNBLOCK_STEP = 1000;

/** What one call of the pruning did (see pruneProfilesOnce()). */
export interface PruneStep {
  /** Profiles deleted. */
  pruned: number;
  /** Deleted accounts whose blockers' lists the step did not cover: to be called again. */
  unfinished: number[];
}

/**
 * One call of the pruning (scripts/prune_profiles.lua) over `ids`, taking at most `step`
 * blocks of deleted accounts out of their blockers' lists.
 */
export async function pruneProfilesOnce(
  redis: Redis,
  ids: readonly number[],
  { retentionDays, now }: RetentionOptions,
  step = UNBLOCK_STEP,
): Promise<PruneStep> {
  if (ids.length === 0) return { pruned: 0, unfinished: [] };
  defineScript(redis, "pruneIdleProfiles", PRUNE_SCRIPT);
  const r = redis as unknown as {
    pruneIdleProfiles(...a: (string | number)[]): Promise<(string | number)[]>;
  };
  const [pruned, ...unfinished] = await r.pruneIdleProfiles(
    ...pruneArgs({ retentionDays, now }, step),
    "0",
    ...ids,
  );
  return { pruned: Number(pruned), unfinished: unfinished.map(Number) };
}

/** The pruning script's first arguments: the retention's weeks, the step, its first hour. */
function pruneArgs({ retentionDays, now }: RetentionOptions, step: number): number[] {
  const week = (t: number) => Math.floor(t / HOUR_MS / WEEK_HOURS);
  const since = now - retentionDays * DAY_MS;
  return [week(since), week(now), step, Math.floor(since / HOUR_MS)];
}

/**
 * Deletes the profiles (and handle index entries) of the given active accounts idle through
 * the retention (no log in its weeks, no follows or blocks of their own, not opted out) that
 * nobody blocks (a block as it stands keeps the profile its lists show); the next identity
 * or profile event of an account writes them again. Lets deleted accounts go once idle and
 * deleted before the retention: they leave their blockers' lists, their profile becomes a
 * mark that they were deleted, and their id goes back at the next sweep, mark and all
 * (scripts/prune_profiles.lua, reclaim.ts). Blockers' lists are taken in steps of
 * UNBLOCK_STEP a call, so that a deleted account blocked by a million never holds Redis for
 * long. Deactivated, taken-down and suspended accounts are kept: they may come back.
 * Returns how many profiles were deleted or accounts let go.
 */
export async function pruneIdleProfiles(
  redis: Redis,
  ids: number[],
  options: RetentionOptions,
): Promise<number> {
  const client = redis as RedisClient;
  if (isCluster(client)) return await pruneOnCluster(client, ids, options);
  let pruned = 0;
  for (let left: readonly number[] = ids; left.length > 0;) {
    const step = await pruneProfilesOnce(redis, left, options);
    pruned += step.pruned;
    left = step.unfinished;
  }
  return pruned;
}

/** Bit widths of a block's scores, as in scripts/apply_blocks.lua. */
const BLOCK_ID = 2 ** 28, BLOCK_EXTRA = 2 ** 20;

/**
 * pruneIdleProfiles() on a Redis Cluster, where one call keeps to one slot: per account, the
 * pruning script in its profile's slot decides and writes there (the profile, `bi:`), and
 * what lands elsewhere is written after it, in the order that keeps a stop harmless:
 * - a deleted account's blockers lose it from their lists (`bo:{B}`, each in B's slot),
 *   then the next call takes those blockers out of its `bi:` (each only if its block was
 *   not made again meanwhile), so that a stop in between leaves only what the next sweep
 *   takes out again;
 * - the handle index loses a dropped profile's entry, which is then added again if the
 *   profile has that handle once more (the upkeep or the firehose wrote it meanwhile);
 * - an account let go joins the hidden set and K.goneIds after its profile became the mark
 *   of its deletion: a stop in between leaves the mark, which the next sweep lets go again.
 * Each account takes as many calls as its blockers need, UNBLOCK_STEP blockers a call.
 */
async function pruneOnCluster(
  cluster: Cluster,
  ids: readonly number[],
  options: RetentionOptions,
  step = UNBLOCK_STEP,
): Promise<number> {
  if (ids.length === 0) return 0;
  defineScript(cluster as unknown as Redis, "pruneIdleProfile", PRUNE_SCRIPT, 1);
  const r = cluster as unknown as {
    pruneIdleProfile(key: string, ...a: (string | number)[]): Promise<string[]>;
  };
  const first = pruneArgs(options, step);
  const ending = await cluster.zmscore(storeKeys.blocksEnding, ...ids.map(String));
  let pruned = 0;
  let calls = ids.map((id, k) => ({ id, ending: ending[k] !== null, taken: [] as string[] }));
  while (calls.length > 0) {
    const replies = await Promise.all(
      calls.map(({ id, ending, taken }) =>
        r.pruneIdleProfile(storeKeys.profile(id), ...first, "1", id, ending ? "1" : "0", ...taken)
      ),
    );
    const next: typeof calls = [];
    const handles: [number, string][] = [];
    const gone = crossSlotPipeline(cluster);
    await Promise.all(replies.map(async ([did, handle, ...entries], k) => {
      const { id } = calls[k];
      if (did === "dropped" || did === "gone") {
        if (did === "dropped") pruned++;
        if (handle) handles.push([id, handle]);
      }
      // Let go now, not at an earlier sweep, when it was not waiting yet (as on one server).
      if (did === "gone") gone.sadd(storeKeys.hidden, id).zadd(storeKeys.goneIds, "NX", 0, id);
      if (did !== "unblock") return;
      // Out of each blocker's list: the block's exact score, and its further records.
      const unblock = crossSlotPipeline(cluster);
      for (let e = 0; e < entries.length; e += 2) {
        const at = Math.floor(Number(entries[e + 1]) / BLOCK_ID) * BLOCK_ID + id;
        const out = storeKeys.blocking(entries[e]);
        unblock.zremrangebyscore(out, at, at);
        unblock.zremrangebyscore(out, -(id * BLOCK_EXTRA + BLOCK_EXTRA - 1), -(id * BLOCK_EXTRA));
      }
      repliesOf(await unblock.exec());
      next.push({ ...calls[k], taken: entries });
    }));
    await dropHandleEntries(cluster, handles);
    if (gone.length > 0) {
      repliesOf(await gone.exec()).forEach(([, n], k) => k % 2 === 1 && (pruned += n as number));
    }
    calls = next;
  }
  return pruned;
}
