/**
 * Profiles checked against the identity network (the scheduler's upkeep) written into the
 * store without ever overriding the firehose: read the profile's version, fetch, then
 * write each part only if the firehose changed nothing in between. The seqs stay as they
 * were, so the next firehose event still overwrites what this wrote.
 */
import type { Redis } from "@bsky/shared/redis";
import { idOf } from "./queries.ts";
import { DAY_MS, HOUR_MS, storeKeys } from "./layout.ts";

/** A stored profile's id and the seqs of the firehose events that last set it. */
export interface ProfileVersion {
  id: number;
  hseq: string;
  pseq: string;
}

/** ARGV: id, hseq read, the handle ("" to leave it), pseq read, "1" to write name and avatar. */
const WRITE_SCRIPT = `
local id = ARGV[1]
local pk = 'p:{' .. id .. '}'
local changed = 0
if ARGV[3] ~= '' and (redis.call('HGET', pk, 'hseq') or '') == ARGV[2] then
  local old = redis.call('HGET', pk, 'handle')
  if old ~= ARGV[3] then
    if old then redis.call('ZREM', 'hx:{g}', old .. '\\0' .. id) end
    redis.call('ZADD', 'hx:{g}', 0, ARGV[3] .. '\\0' .. id)
    redis.call('HSET', pk, 'handle', ARGV[3])
    changed = changed + 1
  end
end
if ARGV[5] == '1' and (redis.call('HGET', pk, 'pseq') or '') == ARGV[4] then
  if redis.call('HGET', pk, 'name') ~= ARGV[6] or redis.call('HGET', pk, 'avatar') ~= ARGV[7] then
    redis.call('HSET', pk, 'name', ARGV[6], 'avatar', ARGV[7])
    changed = changed + 1
  end
end
return changed
`;

/** The version of `did`'s stored profile, before fetching; undefined for an unseen DID. */
export async function profileVersion(
  redis: Redis,
  did: string,
): Promise<ProfileVersion | undefined> {
  const id = await idOf(redis, did);
  if (id === undefined) return undefined;
  const [hseq, pseq] = await redis.hmget(storeKeys.profile(id), "hseq", "pseq");
  return { id, hseq: hseq ?? "", pseq: pseq ?? "" };
}

/**
 * Writes a checked handle ("" leaves it) and profile (undefined leaves it) unless the
 * firehose changed that part since `seen` was read; returns how many parts changed.
 */
export async function writeCheckedProfile(
  redis: Redis,
  seen: ProfileVersion,
  found: { handle: string; profile?: { name: string; avatar: string } },
): Promise<number> {
  if (!("writeCheckedProfile" in redis)) {
    redis.defineCommand("writeCheckedProfile", { lua: WRITE_SCRIPT, numberOfKeys: 0 });
  }
  const r = redis as unknown as { writeCheckedProfile(...a: string[]): Promise<number> };
  return await r.writeCheckedProfile(
    String(seen.id),
    seen.hseq,
    found.handle,
    seen.pseq,
    found.profile ? "1" : "0",
    found.profile?.name ?? "",
    found.profile?.avatar ?? "",
  );
}

/**
 * ARGV: the first and last week within the retention, then ids. A profile is idle when
 * its account has no log in those weeks and no follows or blocks set (which expire with
 * the retention), is active (or was never said not to be) and has not opted out: such a
 * profile and its handle index entry are deleted. The next identity or profile event of
 * the account writes them again. Returns how many were deleted.
 */
const PRUNE_SCRIPT = `
local first, last = tonumber(ARGV[1]), tonumber(ARGV[2])
local pruned = 0
for i = 3, #ARGV do
  local a = ARGV[i]
  local pk = 'p:{' .. a .. '}'
  local f = redis.call('HMGET', pk, 'optout', 'status', 'handle')
  local idle = not f[1] and (not f[2] or f[2] == 'active')
    and redis.call('EXISTS', 'g:{' .. a .. '}') == 0
  if idle then
    for w = first, last do
      if redis.call('EXISTS', 'l:{' .. a .. '}:' .. w) == 1 then
        idle = false
        break
      end
    end
  end
  if idle then
    if f[3] then redis.call('ZREM', 'hx:{g}', f[3] .. '\\0' .. a) end
    redis.call('DEL', pk)
    pruned = pruned + 1
  end
end
return pruned
`;

/**
 * Deletes the profiles (and handle index entries) of the given accounts that are idle
 * through the retention, atomically with respect to the indexer; returns how many.
 */
export async function pruneIdleProfiles(
  redis: Redis,
  ids: number[],
  { retentionDays, now }: { retentionDays: number; now: number },
): Promise<number> {
  if (ids.length === 0) return 0;
  if (!("pruneIdleProfiles" in redis)) {
    redis.defineCommand("pruneIdleProfiles", { lua: PRUNE_SCRIPT, numberOfKeys: 0 });
  }
  const r = redis as unknown as { pruneIdleProfiles(...a: (string | number)[]): Promise<number> };
  const week = (t: number) => Math.floor(t / HOUR_MS / 168);
  return await r.pruneIdleProfiles(week(now - retentionDays * DAY_MS), week(now), ...ids);
}
