/**
 * Profiles checked against the identity network (the scheduler's upkeep) written into the
 * store without ever overriding the firehose: read the profile's version, fetch, then
 * write each part only if the firehose changed nothing in between. The seqs stay as they
 * were, so the next firehose event still overwrites what this wrote.
 */
import type { Redis } from "@bsky/shared/redis";
import { idOf } from "./queries.ts";
import { storeKeys } from "./store.ts";

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
