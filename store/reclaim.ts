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
import { keySlot, masterOf, slotTag } from "@bsky/shared/cluster";
import { crossSlotPipeline, repliesOf } from "@bsky/shared/pipeline";
import {
  backoffMs,
  type Cluster,
  isCluster,
  type Redis,
  type RedisClient,
} from "@bsky/shared/redis";
import {
  HOUR_MS,
  ID_BUCKET,
  KEY_NAMES,
  type KeyName,
  keyValues,
  storeKeys,
  WEEK_HOURS,
} from "./layout.ts";
import { crossSlotScript, defineScript, withKeys } from "./lua.ts";
import keepNamedSource from "./scripts/keep_named.lua" with { type: "text" };
import { nodeFor } from "./slot_writes.ts";
import { dropPosters, ensurePosters } from "./posters.ts";
import { handleEntry } from "./profiles.ts";
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

const KEY_KINDS = (() => {
  const single: KeyName[] = [], weekly: KeyName[] = [];
  for (const [name, template] of Object.entries(KEY_NAMES) as [KeyName, string][]) {
    if (/^[a-z]+:\{<id>\}$/.test(template)) single.push(name);
    else if (/^[a-z]+:\{<id>\}:<week>$/.test(template)) weekly.push(name);
  }
  return { single, weekly };
})();

/** An account's own key kinds (layout.ts): those by its id alone, and by its id and a week. */
export function accountKeyKinds(): { single: readonly KeyName[]; weekly: readonly KeyName[] } {
  return KEY_KINDS;
}

/** The first and last week of the retention at `now`, and its first hour. */
function retentionWeeks({ now, retentionDays }: ReclaimOptions) {
  const week = (t: number) => Math.floor(t / HOUR_MS / WEEK_HOURS);
  const since = now - retentionDays * 24 * HOUR_MS;
  return { first: week(since), last: week(now), since: Math.floor(since / HOUR_MS) };
}

function run(redis: RedisClient, step: string, options: ReclaimOptions, rest: (string | number)[]) {
  // The interning's key names the script's slot, for a Cluster's routing.
  defineScript(redis as Redis, "reclaimIds", SCRIPT, 1);
  const { single, weekly } = accountKeyKinds();
  const { first, last, since } = retentionWeeks(options);
  return (redis as unknown as ReclaimRedis).reclaimIds(
    storeKeys.idEpoch,
    step,
    first,
    last,
    since,
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
 * the record memory still holds names it when it goes. Returns how many were kept. On a
 * Redis Cluster the sets are checked against each master's copy of the retiring ids
 * (`copies`, kept for the whole walk; made for this call alone when not given).
 */
export async function keepNamed(
  redis: Redis,
  graphKeys: readonly string[],
  { now }: { now: number },
  copies?: RetiringCopies,
): Promise<number> {
  if (graphKeys.length === 0) return 0;
  const client = redis as RedisClient;
  /** Each id named, with the sets and members naming it. */
  const named = new Map<string, [string, string][]>();
  const found = (key: string, members: string[]) => {
    for (const m of members) {
      const id = m.replace(/^-/, "");
      const at = named.get(id) ?? [];
      at.push([key, m]);
      named.set(id, at);
    }
  };
  if (isCluster(client)) {
    const own = copies ? undefined : new RetiringCopies(client);
    try {
      for (const [key, members] of await (copies ?? own!).named(graphKeys)) found(key, members);
    } finally {
      await own?.close();
    }
    // The copies may hold ids that left the retiring set since (a follow of them applied):
    // only those still in it count, as on one server.
    const ids = [...named.keys()];
    if (ids.length > 0) {
      const still = await redis.smismember(storeKeys.retiringIds, ...ids);
      ids.forEach((id, k) => still[k] || named.delete(id));
    }
  } else {
    const pipe = redis.pipeline();
    for (const key of graphKeys) pipe.sinter(key, storeKeys.retiringIds);
    repliesOf(await pipe.exec()).forEach(([, members], k) =>
      found(graphKeys[k], members as string[])
    );
  }
  if (named.size === 0) return 0;
  const ids = [...named.keys()];
  const gone = await redis.zmscore(storeKeys.goneIds, ...ids);
  const kept = ids.filter((_, k) => gone[k] === null);
  // The graph sets are of many slots (one server's pipeline, or one per master).
  const drop = crossSlotPipeline(client);
  const hour = Math.floor(now / HOUR_MS);
  ids.forEach((id, k) => {
    if (gone[k] === null) return;
    for (const [key, member] of named.get(id)!) drop.srem(key, member);
    drop.zadd(storeKeys.goneIds, "XX", hour, id);
  });
  if (kept.length > 0) drop.srem(storeKeys.retiringIds, ...kept.flatMap((a) => [a, `-${a}`]));
  repliesOf(await drop.exec());
  // The copies keep to the retiring set, so that a later set naming these counts them no more.
  if (kept.length > 0) await copies?.drop(kept);
  return kept.length;
}

const KEEP_NAMED = crossSlotScript(keepNamedSource);
/** How long a master's copy of the retiring ids is kept at most: longer than a walk takes. */
const COPY_TTL_S = 7 * 86400;
/** Members copied per call; attempts at a page whose slots moved. */
const COPY_STEP = 5000, ATTEMPTS = 5;

/**
 * The retiring ids, copied to each master of a Redis Cluster as a walk needs them
 * (`rc:{<tag>}`, in a slot of that master), so that a script there can check the graph
 * sets it serves against them: no command may take a graph set and the retiring set, of
 * two slots. A copy is made from the retiring set as it was at the copy's first use; ids
 * the walk drops from the retiring set meanwhile stay in the copies, which only makes a
 * later set that names them drop them again. When a master no longer serves a page's
 * graph set or its copy (a reshard, a failover), the page is grouped and sent again, with
 * a copy made where needed, up to ATTEMPTS times. close() unlinks the copies.
 */
export class RetiringCopies {
  readonly #cluster: Cluster;
  #members?: string[];
  /** Copies made, by key. */
  readonly #copies = new Set<string>();

  constructor(cluster: Cluster) {
    this.#cluster = cluster;
  }

  /** The retiring ids each of `graphKeys` names, as [key, members] pairs. */
  async named(graphKeys: readonly string[]): Promise<[string, string[]][]> {
    const out: [string, string[]][] = [];
    let left = [...graphKeys];
    for (let attempt = 1; left.length > 0; attempt++) {
      const byMaster = new Map<string, string[]>();
      for (const key of left) {
        const master = masterOf(this.#cluster, key) ?? "";
        byMaster.set(master, [...byMaster.get(master) ?? [], key]);
      }
      const failed: string[] = [];
      let cause: unknown;
      await Promise.all([...byMaster].map(async ([master, keys]) => {
        try {
          const { client } = nodeFor(this.#cluster, keySlot(keys[0]));
          if (!client || master === "") throw new Error(`No master serves ${keys[0]}`);
          const copy = await this.#copyOn(master, keySlot(keys[0]));
          defineScript(client, "keepNamed", KEEP_NAMED);
          const found = await (client as unknown as {
            keepNamed(...a: string[]): Promise<string[][]>;
          }).keepNamed(copy, ...keys);
          keys.forEach((key, k) => out.push([key, found[k]]));
        } catch (err) {
          failed.push(...keys);
          cause = err;
        }
      }));
      if (failed.length === 0) break;
      if (attempt === ATTEMPTS) {
        throw new Error(`The graph sets could not be checked against the retiring ids`, { cause });
      }
      // The client learns the slots' masters again; copies no master serves are made anew.
      await new Promise<void>((resolve) => this.#cluster.refreshSlotsCache(() => resolve()));
      await new Promise((resolve) => setTimeout(resolve, backoffMs(attempt)));
      left = failed;
    }
    return out;
  }

  /** A copy in a slot `master` serves: one made already, or a new one in `slot`. */
  async #copyOn(master: string, slot: number): Promise<string> {
    for (const key of this.#copies) {
      if (masterOf(this.#cluster, key) === master && await this.#cluster.exists(key)) return key;
    }
    this.#members ??= await sscanAll(this.#cluster, storeKeys.retiringIds);
    const key = storeKeys.retiringCopy(slotTag(slot));
    const next = storeKeys.retiringCopyNext(slotTag(slot));
    // Written whole under another name first: a failover in the middle of the copy leaves
    // no part of one that the script would take for the whole.
    await this.#cluster.unlink(next);
    // A member that nothing names keeps the copy there while no id retires.
    const members = this.#members.length > 0 ? this.#members : ["none"];
    for (let at = 0; at < members.length; at += COPY_STEP) {
      await this.#cluster.sadd(next, ...members.slice(at, at + COPY_STEP));
    }
    await this.#cluster.expire(next, COPY_TTL_S);
    if (await this.#cluster.scard(next) !== new Set(members).size) {
      throw new Error(`The copy of the retiring ids in {${slotTag(slot)}} is not whole`);
    }
    await this.#cluster.rename(next, key);
    this.#copies.add(key);
    return key;
  }

  /** Takes ids (kept: no longer retiring) out of every copy. */
  async drop(ids: readonly string[]): Promise<void> {
    const members = ids.flatMap((a) => [a, `-${a}`]);
    const pipe = crossSlotPipeline(this.#cluster);
    for (const key of this.#copies) pipe.srem(key, ...members);
    repliesOf(await pipe.exec());
    const gone = new Set(members);
    this.#members = this.#members?.filter((m) => !gone.has(m));
  }

  /** Unlinks the copies. */
  async close(): Promise<void> {
    for (const key of this.#copies) await this.#cluster.unlink(key);
    this.#copies.clear();
  }
}

/** Every member of a set, read in steps. */
async function sscanAll(redis: RedisClient, key: string): Promise<string[]> {
  const out: string[] = [];
  let cursor = "0";
  do {
    const [next, members] = await redis.sscan(key, cursor, "COUNT", 1000);
    cursor = next;
    out.push(...members);
  } while (cursor !== "0");
  return out;
}

/** Finds idle accounts in the given reverse-map buckets: their ids go pending. */
export async function findIdleIds(
  redis: Redis,
  buckets: readonly number[],
  options: ReclaimOptions,
): Promise<number> {
  if (buckets.length === 0) return 0;
  await ensurePosters(redis, options);
  const client = redis as RedisClient;
  const max = options.maxPerSweep ?? MAX_RETIRED_PER_SWEEP;
  let found = 0;
  for (let i = 0; i < buckets.length; i += BUCKETS_PER_CALL) {
    const part = buckets.slice(i, i + BUCKETS_PER_CALL);
    if (!isCluster(client)) {
      found += await run(redis, "find", options, [max, ...part]);
      continue;
    }
    // On a Cluster the accounts' own keys are read first, in their slots.
    const ids: number[] = [];
    for (const b of part) {
      const fields = await redis.hkeys(storeKeys.idToDid(b * ID_BUCKET));
      ids.push(...fields.map((f) => b * ID_BUCKET + Number(f)));
    }
    if (ids.length > 0) {
      found += await run(redis, "find-facts", options, [
        max,
        ...await accountFacts(client, ids, options),
      ]);
    }
  }
  return found;
}

/**
 * What the reclaiming script cannot read of accounts on a Redis Cluster (their own keys are
 * in their slots, the hidden set in `{g}`), per id: the id, how many of its own keys other
 * than its profile exist (logs and digests in the retention's weeks), its profile ("none",
 * "mark" when only the mark of a deletion, "other") and "1" when hidden (reclaim_ids.lua).
 */
async function accountFacts(
  cluster: Cluster,
  ids: readonly number[],
  options: ReclaimOptions,
): Promise<(string | number)[]> {
  const pipe = crossSlotPipeline(cluster);
  for (const id of ids) {
    const keys = ownKeys(id, options).filter((key) => key !== storeKeys.profile(id));
    pipe.exists(...keys).hgetall(storeKeys.profile(id));
  }
  const replies = repliesOf(await pipe.exec());
  const hidden = await cluster.smismember(storeKeys.hidden, ...ids.map(String));
  return ids.flatMap((id, k) => {
    const profile = replies[2 * k + 1][1] as Record<string, string>;
    const fields = Object.keys(profile);
    const kind = fields.length === 0
      ? "none"
      : profile.status === "deleted" && fields.every((f) => MARK_FIELDS.has(f))
      ? "mark"
      : "other";
    return [id, replies[2 * k][1] as number, kind, hidden[k] ? "1" : "0"];
  });
}

/**
 * An account's own keys (accountKeyKinds()): those by its id alone, and those by its id and
 * a week of the retention, all in its slot.
 */
function ownKeys(id: number, options: ReclaimOptions): string[] {
  const { single, weekly } = accountKeyKinds();
  const { first, last } = retentionWeeks(options);
  const keys = single.map((name) => (storeKeys[name] as (id: number) => string)(id));
  for (const name of weekly) {
    for (let w = first; w <= last; w++) {
      keys.push((storeKeys[name] as (id: number, week: number) => string)(id, w));
    }
  }
  return keys;
}

/** The fields of the mark a deleted account's profile becomes when the sweep lets it go. */
const MARK_FIELDS = new Set(["status", "aseq", "dhour", "hseq", "pseq"]);

/** What reclaimRetired() did. */
export interface Reclaimed {
  /** Ids that joined the free ids. */
  reclaimed: number;
  /** Ids now retiring (the pending ones). */
  retiring: number;
  /**
   * On a Redis Cluster: ids whose DID's mapping went (freed at the next sweep), and whether
   * the writers were done behind the fence ("stopped"), were not in time ("timed out":
   * nothing more was retracted), or the fence was not raised (nothing retired).
   */
  retracted?: number;
  fence?: "stopped" | "timed out" | "not raised";
}

/**
 * When a sweep's walk ends: reclaims the retiring ids whose accounts are still idle, then
 * retires the pending ones. On a Redis Cluster, in two steps a sweep apart (see
 * reclaimOnCluster()).
 */
export async function reclaimRetired(
  redis: Redis,
  options: ReclaimOptions & FenceOptions,
): Promise<Reclaimed> {
  const client = redis as RedisClient;
  let out: Reclaimed = { reclaimed: 0, retiring: 0 };
  if (isCluster(client)) out = await reclaimOnCluster(client, options);
  else {
    let cursor = "0";
    if (await retiringIds(redis) > 0) await ensurePosters(redis, options);
    do {
      const [next, members] = await redis.sscan(storeKeys.retiringIds, cursor, "COUNT", 1000);
      cursor = next;
      const ids = members.filter((m) => !m.startsWith("-"));
      for (let i = 0; i < ids.length; i += IDS_PER_CALL) {
        out.reclaimed += await run(redis, "reclaim", options, ids.slice(i, i + IDS_PER_CALL));
      }
    } while (cursor !== "0");
  }
  // Left over: negations whose id had gone (none, unless a step failed). Freed in the
  // background, so that a large set never blocks.
  await redis.unlink(storeKeys.retiringIds);
  await dropPosters(redis);
  if (await redis.exists(storeKeys.pendingIds)) {
    await redis.rename(storeKeys.pendingIds, storeKeys.retiringIds);
  }
  return { ...out, retiring: await retiringIds(redis) };
}

export interface FenceOptions {
  /** How long the sweep waits, behind its fence, for the writers to be done (ms). */
  fenceWaitMs?: number;
}

/** How long the fence stands unless renewed (ms): a sweep that stops never holds it longer. */
const FENCE_MS = 60_000;
/** How often the sweep looks whether the writers are done (ms). */
const FENCE_POLL_MS = 20;
/** Retiring ids retracted behind one raising of the fence. */
const IDS_PER_FENCE = 2048;
/** How long the fence stays down between two raisings (ms): writers waiting at it go on. */
const FENCE_GAP_MS = 250;

/**
 * The reclaiming on a Redis Cluster, where the apply's first round cannot check the
 * interning's epoch (no call there reaches `{ids}`), so that a batch whose ids were read
 * before ids went back could write them after. Ids go back in two steps instead:
 *
 * 1. Retracting, behind a fence: every writer that reads ids (an indexer's batch, a
 *    backfill's part) says so first in `ids:{ids}:writers` (beginWriting()), in one step
 *    with looking at `ids:{ids}:fence`, and takes its name out once all it read them for
 *    is written (endWriting()); while the fence is up, none begins. The sweep raises the
 *    fence and waits until no writer is left; then each retiring id whose account is still
 *    idle (its own keys read first, in their slots) loses its DID's mapping and joins
 *    `ids:{ids}:retracted`, and the epoch moves on, in calls that fail unless the fence is
 *    still up; then the fence goes down. IDS_PER_FENCE ids at a time, the fence down for
 *    FENCE_GAP_MS between two, so that the writers wait a few milliseconds each time, not
 *    for the whole set. A writer reads the epoch after it began and drops its cached ids
 *    when it moved, so none uses those ids again: a DID that comes back is interned anew.
 * 2. Freeing, at the next sweep: whatever a writer that read the mapping before it went
 *    left under a retracted id since (the profile upkeep's write, checked against the
 *    mapping a call before) is deleted, with the id's reverse mapping, hidden entry and
 *    K.goneIds entry, and the id joins the free ids.
 *
 * A writer that stopped before it was done (killed between the two rounds of a batch)
 * stays in the writers until its successor (the partition's next holder, the host's next
 * run) is done: its half-written batch is written with the ids it was read with. When the
 * writers are not all done in time (`fenceWaitMs`, 30 s by default), nothing more is
 * retracted; the ids are found idle again by the next sweeps.
 */
async function reclaimOnCluster(
  cluster: Cluster,
  options: ReclaimOptions & FenceOptions,
): Promise<Reclaimed> {
  const out: Reclaimed = { reclaimed: 0, retiring: 0, retracted: 0, fence: "not raised" };
  out.reclaimed = await freeRetracted(cluster, options);
  if (await retiringIds(cluster as unknown as Redis) === 0) return out;
  await ensurePosters(cluster as unknown as Redis, options);
  let cursor = "0";
  do {
    // A slice of the retiring ids, then the fence for it.
    const slice: number[] = [];
    do {
      const [next, members] = await cluster.sscan(storeKeys.retiringIds, cursor, "COUNT", 1000);
      cursor = next;
      for (const m of members) if (!m.startsWith("-")) slice.push(Number(m));
    } while (cursor !== "0" && slice.length < IDS_PER_FENCE);
    if (slice.length === 0) continue;
    // The writers that waited at the last fence go first.
    if (out.fence !== "not raised") await new Promise((r) => setTimeout(r, FENCE_GAP_MS));
    const token = crypto.randomUUID();
    try {
      if (!await raiseFence(cluster, token, options.fenceWaitMs ?? 30_000)) {
        out.fence = "timed out";
        return out;
      }
      out.fence = "stopped";
      for (let i = 0; i < slice.length; i += IDS_PER_CALL) {
        const facts = await accountFacts(cluster, slice.slice(i, i + IDS_PER_CALL), options);
        out.retracted! += await run(cluster, "retract", options, [token, FENCE_MS, ...facts]);
      }
    } finally {
      await lowerFence(cluster, token);
    }
  } while (cursor !== "0");
  return out;
}

/**
 * Raises the fence and waits until no writer is left (see reclaimOnCluster()); false when
 * some still are after `waitMs`.
 */
async function raiseFence(cluster: Cluster, token: string, waitMs: number): Promise<boolean> {
  await cluster.set(storeKeys.idFence, token, "PX", FENCE_MS);
  for (let waited = 0;; waited += FENCE_POLL_MS) {
    if (await cluster.hlen(storeKeys.idWriters) === 0) return true;
    if (waited >= waitMs) return false;
    await new Promise((resolve) => setTimeout(resolve, FENCE_POLL_MS));
    // Kept up while waiting, unless it lapsed (the retracting then refuses it).
    await cluster.set(storeKeys.idFence, token, "PX", FENCE_MS, "XX");
  }
}

/** Takes the fence down, if it is still this sweep's. */
async function lowerFence(cluster: Cluster, token: string): Promise<void> {
  if (await cluster.get(storeKeys.idFence) === token) await cluster.del(storeKeys.idFence);
}

const BEGIN_WRITING = `
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return redis.call('GET', KEYS[3]) or '0'`;
const END_WRITING = `
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end
return 0`;

/**
 * On a Redis Cluster, says that `writer` (an indexer's partition, a backfill's host), held
 * by `holder`, reads ids for what it is about to write, and returns the ids' epoch (give it
 * to Applier.checkEpoch()); unless the reclaiming's fence is up: then it says nothing and
 * returns null (read nothing; try again once the fence is down).
 */
export async function beginWriting(
  redis: RedisClient,
  writer: string,
  holder: string,
): Promise<string | null> {
  defineScript(redis as Redis, "beginWriting", BEGIN_WRITING, 3);
  const r = redis as unknown as { beginWriting(...a: string[]): Promise<string | null> };
  const { idFence, idWriters, idEpoch } = storeKeys;
  return await r.beginWriting(idFence, idWriters, idEpoch, writer, holder);
}

/** `writer` has written all it read ids for (beginWriting()), unless another holds it now. */
export async function endWriting(redis: RedisClient, writer: string, holder: string) {
  defineScript(redis as Redis, "endWriting", END_WRITING, 1);
  const r = redis as unknown as { endWriting(...a: string[]): Promise<number> };
  await r.endWriting(storeKeys.idWriters, writer, holder);
}

/**
 * Frees the ids retracted at the last sweep (reclaimOnCluster()): deletes what is left
 * under each (its own keys, its handle index entry, its hidden entry), then the script
 * frees it. Returns how many.
 */
async function freeRetracted(cluster: Cluster, options: ReclaimOptions): Promise<number> {
  let freed = 0, cursor = "0";
  do {
    const [next, members] = await cluster.sscan(storeKeys.retractedIds, cursor, "COUNT", 1000);
    cursor = next;
    for (let i = 0; i < members.length; i += IDS_PER_CALL) {
      const ids = members.slice(i, i + IDS_PER_CALL).map(Number);
      const handles = repliesOf(
        await crossSlotPipeline(cluster, ids.map((id) => ["hget", storeKeys.profile(id), "handle"]))
          .exec(),
      );
      // The handle index's entries before the profiles: a stop in between leaves nothing
      // that names the id and is not found again.
      const entries = ids.flatMap((id, k) => {
        const handle = handles[k][1] as string | null;
        return handle ? [handleEntry(handle, id)] : [];
      });
      if (entries.length > 0) await cluster.zrem(storeKeys.handles, ...entries);
      const unlink = crossSlotPipeline(cluster);
      for (const id of ids) unlink.unlink(...ownKeys(id, options));
      repliesOf(await unlink.exec());
      await cluster.srem(storeKeys.hidden, ...ids.map(String));
      freed += await run(cluster, "free", options, ids);
    }
  } while (cursor !== "0");
  return freed;
}
