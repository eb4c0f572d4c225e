/**
 * Ids of accounts idle through the retention go back (the DID ↔ id interning would
 * otherwise only grow): run by the retention sweep (retention.ts re-exports this for the
 * scheduler's sweep job), in small steps.
 *
 * An account is idle when it has none of its own keys left (logs and digests in the
 * retention's weeks, its graph set, profile, blocks: every key kind of layout.ts tagged by
 * its id alone or by its id and a week), no post counted in the posts by language of the
 * hours still kept (posters.ts: a bitmap the sweep reads them into) and is not hidden, or is
 * a deleted account the sweep let go (retention.ts) with only the mark of its deletion left
 * and no graph set naming it within the retention. Other accounts' logs never name it then
 * (an interaction is logged in both accounts' logs, for the same weeks), nor does the
 * record memory (whatever it remembers of it was logged, or sits in a graph set, or for an
 * account let go, was made more than a retention before: longer than the memory keeps
 * anything). Other accounts' graph sets still may (whom they follow or block, kept while
 * they are active), so an idle account's id waits one whole sweep first:
 *
 * 1. while the sweep walks the keyspace, idle accounts found in the reverse map's buckets
 *    go into a pending set; when the walk ends they become the retiring set;
 * 2. during the next sweep's walk, every graph set is intersected with the retiring set:
 *    an id a set names is dropped from it (it stays), unless it is a deleted account the
 *    sweep let go (retention.ts; `ids:{ids}:gone`), which the set drops instead; an id that
 *    a new follow or block names meanwhile stays too (the apply script drops it when it adds
 *    to a graph set);
 * 3. when that walk ends, each id still retiring whose account is still idle loses its
 *    mappings and joins the free list (intern.lua gives those first), and the interning's
 *    epoch moves on: the indexer's cached ids are read again before its next batch is
 *    written (the apply script refuses a batch read at an older epoch), so an id is never
 *    used for the DID it no longer stands for. The bitmap of posting ids goes then, before
 *    the pending ids retire: the next sweep reads its own, after they went pending.
 *
 * A returning account is interned anew, as any new one; nothing of its past is left.
 */
import type { Redis } from "@bsky/shared/redis";
import { HOUR_MS, KEY_NAMES, type KeyName, keyValues, storeKeys, WEEK_HOURS } from "./layout.ts";
import { defineScript, withKeys } from "./lua.ts";
import { dropPosters, ensurePosters } from "./posters.ts";
import reclaimIds from "./scripts/reclaim_ids.lua" with { type: "text" };

export interface ReclaimOptions {
  retentionDays: number;
  now: number;
  /** Most ids a sweep retires (the pending set holds them and their negations). */
  maxPerSweep?: number;
}

/** Ids a sweep retires at most, by default. */
export const MAX_RETIRED_PER_SWEEP = 100_000;
/** Reverse-map buckets (of 128 ids) looked at per call, and ids reclaimed per call. */
const BUCKETS_PER_CALL = 1, IDS_PER_CALL = 128;

const SCRIPT = withKeys(reclaimIds);
type ReclaimRedis = Redis & { reclaimIds(...args: (string | number)[]): Promise<number> };

/** An account's own key kinds (layout.ts): those by its id alone, and by its id and a week. */
export function accountKeyKinds(): { single: KeyName[]; weekly: KeyName[] } {
  const single: KeyName[] = [], weekly: KeyName[] = [];
  for (const [name, template] of Object.entries(KEY_NAMES) as [KeyName, string][]) {
    if (/^[a-z]+:\{<id>\}$/.test(template)) single.push(name);
    else if (/^[a-z]+:\{<id>\}:<week>$/.test(template)) weekly.push(name);
  }
  return { single, weekly };
}

function run(redis: Redis, step: string, options: ReclaimOptions, rest: (string | number)[]) {
  defineScript(redis, "reclaimIds", SCRIPT);
  const week = (t: number) => Math.floor(t / HOUR_MS / WEEK_HOURS);
  const { single, weekly } = accountKeyKinds();
  const since = options.now - options.retentionDays * 24 * HOUR_MS;
  return (redis as ReclaimRedis).reclaimIds(
    step,
    week(since),
    week(options.now),
    Math.floor(since / HOUR_MS),
    single.length,
    ...single,
    weekly.length,
    ...weekly,
    ...rest,
  );
}

/** The reverse map's bucket of a key of it (`ids:{ids}:r:<bucket>`), or undefined. */
export function idBucketOf(key: string): number | undefined {
  const b = keyValues("idToDid", key)?.[0];
  return b !== undefined && /^\d+$/.test(b) ? Number(b) : undefined;
}

/** How many ids wait in the retiring set (and so whether graph sets are checked). */
export async function retiringIds(redis: Redis): Promise<number> {
  return Math.floor(await redis.scard(storeKeys.retiringIds) / 2);
}

/**
 * Keeps every retiring id that one of the given graph sets names (follows, or blocks as
 * negative ids), unless it is a deleted account the sweep let go (K.goneIds): the set drops
 * that one instead, since nobody can follow or block an account that is gone, and its id
 * waits a retention from now (its score in K.goneIds), so that no follow or block record
 * the record memory still holds names it when it goes. Returns how many were kept.
 */
export async function keepNamed(
  redis: Redis,
  graphKeys: readonly string[],
  { now }: { now: number },
): Promise<number> {
  if (graphKeys.length === 0) return 0;
  const pipe = redis.pipeline();
  for (const key of graphKeys) pipe.sinter(key, storeKeys.retiringIds);
  /** Each id named, with the sets and members naming it. */
  const named = new Map<string, [string, string][]>();
  (await pipe.exec())!.forEach(([err, members], k) => {
    if (err) throw err;
    for (const m of members as string[]) {
      const id = m.replace(/^-/, "");
      const at = named.get(id) ?? [];
      at.push([graphKeys[k], m]);
      named.set(id, at);
    }
  });
  if (named.size === 0) return 0;
  const ids = [...named.keys()];
  const gone = await redis.zmscore(storeKeys.goneIds, ...ids);
  const kept = ids.filter((_, k) => gone[k] === null);
  const drop = redis.pipeline();
  const hour = Math.floor(now / HOUR_MS);
  ids.forEach((id, k) => {
    if (gone[k] === null) return;
    for (const [key, member] of named.get(id)!) drop.srem(key, member);
    drop.zadd(storeKeys.goneIds, "XX", hour, id);
  });
  if (kept.length > 0) drop.srem(storeKeys.retiringIds, ...kept.flatMap((a) => [a, `-${a}`]));
  for (const [err] of (await drop.exec())!) if (err) throw err;
  return kept.length;
}

/** Finds idle accounts in the given reverse-map buckets: their ids go pending. */
export async function findIdleIds(
  redis: Redis,
  buckets: readonly number[],
  options: ReclaimOptions,
): Promise<number> {
  if (buckets.length === 0) return 0;
  await ensurePosters(redis, options);
  let found = 0;
  for (let i = 0; i < buckets.length; i += BUCKETS_PER_CALL) {
    found += await run(redis, "find", options, [
      options.maxPerSweep ?? MAX_RETIRED_PER_SWEEP,
      ...buckets.slice(i, i + BUCKETS_PER_CALL),
    ]);
  }
  return found;
}

/**
 * When a sweep's walk ends: reclaims the retiring ids whose accounts are still idle, then
 * retires the pending ones. Returns how many were reclaimed and how many now retire.
 */
export async function reclaimRetired(
  redis: Redis,
  options: ReclaimOptions,
): Promise<{ reclaimed: number; retiring: number }> {
  let reclaimed = 0, cursor = "0";
  if (await retiringIds(redis) > 0) await ensurePosters(redis, options);
  do {
    const [next, members] = await redis.sscan(storeKeys.retiringIds, cursor, "COUNT", 1000);
    cursor = next;
    const ids = members.filter((m) => !m.startsWith("-"));
    for (let i = 0; i < ids.length; i += IDS_PER_CALL) {
      reclaimed += await run(redis, "reclaim", options, ids.slice(i, i + IDS_PER_CALL));
    }
  } while (cursor !== "0");
  // Left over: negations whose id had gone (none, unless a step failed). Freed in the
  // background, so that a large set never blocks.
  await redis.unlink(storeKeys.retiringIds);
  await dropPosters(redis);
  if (await redis.exists(storeKeys.pendingIds)) {
    await redis.rename(storeKeys.pendingIds, storeKeys.retiringIds);
  }
  return { reclaimed, retiring: await retiringIds(redis) };
}
