/**
 * Profiles and handles: what the store knows of accounts (the apply script keeps it from
 * the firehose), the handle index, and the scheduler's upkeep's writes.
 *
 * The upkeep's profiles, checked against the identity network, never override the
 * firehose: read the profile's version, fetch, then write each part only if the firehose
 * changed nothing in between (scripts/write_profile.lua). The seqs stay as they were, so
 * the next firehose event still overwrites what this wrote.
 */
import { crossSlotPipeline, repliesOf } from "@bsky/shared/pipeline";
import { isCluster, type Redis, type RedisClient } from "@bsky/shared/redis";
import { didsOf, idOf } from "./ids.ts";
import { didKey, storeKeys } from "./layout.ts";
import { defineScript, withKeys } from "./lua.ts";
import writeProfile from "./scripts/write_profile.lua" with { type: "text" };

/** The status of an account that opted out, whatever the network says of it. */
export const OPTED_OUT = "opted_out";

/** A profile as the store knows it. */
export interface Profile {
  did: string;
  handle?: string;
  displayName?: string;
  avatar?: string;
  /** "active", the network's reason an account is not (deactivated, takendown…), or OPTED_OUT. */
  status?: string;
}

/** Profiles of the given DIDs (fields the store has; missing profiles give the DID only). */
export async function profiles(redis: Redis, dids: string[]): Promise<Profile[]> {
  if (dids.length === 0) return [];
  const ids = await redis.hmget(storeKeys.didToId, ...dids.map(didKey));
  // A profile per account, each in its account's slot.
  const pipe = crossSlotPipeline(redis);
  for (const id of ids) {
    pipe.hmget(
      storeKeys.profile(Number(id ?? -1)),
      "handle",
      "name",
      "avatar",
      "status",
      "optout",
    );
  }
  const rows = (await pipe.exec())!;
  return dids.map((did, k) => {
    const [err, row] = rows[k];
    if (err) throw err;
    const [handle, name, avatar, status, optout] = (row ?? []) as (string | null)[];
    const p: Profile = { did };
    if (handle) p.handle = handle;
    if (name) p.displayName = name;
    if (avatar) p.avatar = avatar;
    if (optout) p.status = OPTED_OUT;
    else if (status) p.status = status;
    return p;
  });
}

/** The handle index's member for account `id`'s handle (`hx:{g}`: "handle\0id"). */
export const handleEntry = (handle: string, id: number | string) => `${handle}\0${id}`;

/**
 * On a Redis Cluster, takes out of the handle index the entries of handles profiles no
 * longer have (their writes went first, in their own slots), and adds back each one whose
 * profile has that handle again (written meanwhile), as writeCheckedProfile() does.
 */
export async function dropHandleEntries(
  cluster: RedisClient,
  handles: readonly [id: number, handle: string][],
): Promise<void> {
  if (handles.length === 0) return;
  await cluster.zrem(storeKeys.handles, ...handles.map(([id, h]) => handleEntry(h, id)));
  const now = repliesOf(
    await crossSlotPipeline(
      cluster,
      handles.map(([id]) => ["hget", storeKeys.profile(id), "handle"]),
    ).exec(),
  );
  const back = handles.filter(([, handle], k) => now[k][1] === handle);
  if (back.length > 0) {
    await cluster.zadd(storeKeys.handles, ...back.flatMap(([id, h]) => [0, handleEntry(h, id)]));
  }
}

/** The DID whose current handle is `handle` (lowercase) in the store, if any. */
export async function didOfHandle(redis: Redis, handle: string): Promise<string | undefined> {
  // The first entry that is its account's handle now (see validHandles()).
  const members = await redis.zrangebylex(
    storeKeys.handles,
    `[${handle}\0`,
    `[${handle}\0\xff`,
    "LIMIT",
    0,
    10,
  );
  if (members.length === 0) return undefined;
  const pairs = members.map((m): [string, string] => [handle, m.slice(handle.length + 1)]);
  const valid = await validHandles(redis, pairs);
  const at = valid.indexOf(true);
  if (at < 0) return undefined;
  return (await didsOf(redis, [pairs[at][1]]))[0];
}

/**
 * Whether each [handle, id] of the handle index is its account's handle now: on a Redis
 * Cluster the index is written apart from the profiles, and a race can leave a stale entry.
 */
async function validHandles(redis: Redis, pairs: [string, string][]): Promise<boolean[]> {
  const pipe = crossSlotPipeline(redis);
  for (const [, id] of pairs) pipe.hget(storeKeys.profile(Number(id)), "handle");
  const rows = repliesOf(await pipe.exec());
  return pairs.map(([handle], k) => rows[k][1] === handle);
}

/** Handles starting with `prefix`, for typeahead: [handle, did] pairs, hidden accounts left out. */
export async function searchHandles(
  redis: Redis,
  prefix: string,
  limit = 10,
): Promise<{ handle: string; did: string }[]> {
  const p = prefix.toLowerCase();
  const members = await redis.zrangebylex(
    storeKeys.handles,
    `[${p}`,
    `[${p}\xff`,
    "LIMIT",
    0,
    limit * 2,
  );
  const pairs = members.map((m) => m.split("\0") as [string, string]);
  if (pairs.length === 0) return [];
  const hidden = await redis.smismember(storeKeys.hidden, ...pairs.map(([, id]) => id));
  const valid = await validHandles(redis, pairs);
  const shown = pairs.filter((_, k) => hidden[k] === 0 && valid[k]).slice(0, limit);
  if (shown.length === 0) return [];
  const dids = await didsOf(redis, shown.map(([, id]) => id));
  return shown.map(([handle], k) => ({ handle, did: dids[k]! }));
}

/** A stored profile's DID, id and the seqs of the firehose events that last set it. */
export interface ProfileVersion {
  did: string;
  id: number;
  hseq: string;
  pseq: string;
}

const WRITE_SCRIPT = withKeys(writeProfile);

/** The version of `did`'s stored profile, before fetching; undefined for an unseen DID. */
export async function profileVersion(
  redis: Redis,
  did: string,
): Promise<ProfileVersion | undefined> {
  const id = await idOf(redis, did);
  if (id === undefined) return undefined;
  const [hseq, pseq] = await redis.hmget(storeKeys.profile(id), "hseq", "pseq");
  return { did, id, hseq: hseq ?? "", pseq: pseq ?? "" };
}

/**
 * Writes a checked handle ("" leaves it) and profile (undefined leaves it) unless the
 * firehose changed that part since `seen` was read, or the DID's id was reclaimed since
 * (nothing is written then); returns how many parts changed.
 */
export async function writeCheckedProfile(
  redis: Redis,
  seen: ProfileVersion,
  found: { handle: string; profile?: { name: string; avatar: string } },
): Promise<number> {
  const args = [
    String(seen.id),
    seen.hseq,
    found.handle,
    seen.pseq,
    found.profile ? "1" : "0",
    found.profile?.name ?? "",
    found.profile?.avatar ?? "",
    didKey(seen.did),
  ];
  const client = redis as RedisClient;
  if (!isCluster(client)) {
    defineScript(redis, "writeCheckedProfile", WRITE_SCRIPT);
    const r = redis as unknown as {
      writeCheckedProfile(...a: (string | Uint8Array)[]): Promise<number>;
    };
    return await r.writeCheckedProfile(...args);
  }
  // On a Redis Cluster, slot by slot: the interning, the profile, then the handle index.
  // The index is then written by two writers apart from the profiles (this and the
  // firehose's second round), so a race can leave it an entry that is no account's handle
  // now, which its readers check against the profile (validHandles()), or take out the
  // entry of a handle that came back: so the profile's handle is added again every time, and
  // after taking out the one it replaced, that is read again.
  const [[, now], [, gone]] = repliesOf(
    await client.pipeline().hget(storeKeys.didToId, didKey(seen.did))
      .zscore(storeKeys.goneIds, String(seen.id)).exec(),
  );
  if (now !== String(seen.id) || gone !== null) return 0;
  defineScript(redis, "writeCheckedProfileSlot", WRITE_SCRIPT, 1);
  const r = redis as unknown as {
    writeCheckedProfileSlot(
      ...a: (string | Uint8Array)[]
    ): Promise<[number, string, string, string]>;
  };
  const key = storeKeys.profile(seen.id);
  const [changed, replaced, moved, current] = await r.writeCheckedProfileSlot(key, ...args, "1");
  const entry = (handle: string) => handleEntry(handle, seen.id);
  const index = client.multi();
  if (moved === "1" && replaced) index.zrem(storeKeys.handles, entry(replaced));
  if (current) index.zadd(storeKeys.handles, 0, entry(current));
  if (replaced || current) repliesOf(await index.exec());
  else index.discard();
  if (moved === "1" && replaced && await client.hget(key, "handle") === replaced) {
    await client.zadd(storeKeys.handles, 0, entry(replaced));
  }
  return changed;
}
