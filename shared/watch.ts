/**
 * The watch list: accounts whose mentions the firehose passes with what a reply needs
 * (`WatchedPost` in events.ts), such as the tasker's bot. A service registers its account
 * with an expiry and renews it while it runs; the firehose reads the list every few
 * seconds. A service that stops stops being watched once its registration expires (not at
 * once: mentions made while it restarts still carry what it needs), so no setting has to be
 * kept in step between the two.
 * @module
 */
import { firehoseKeys } from "./keys.ts";
import type { Redis } from "./redis.ts";
import { isValidDid } from "./syntax.ts";

/** The most accounts the firehose watches at once; more are left out. */
export const WATCH_MAX = 100;
/** How often the firehose reads the list. */
export const WATCH_REFRESH_MS = 5000;
/** How long a registration lasts; services renew it well before (every third of it). */
export const WATCH_TTL_MS = 5 * 60_000;

/** Adds or renews `did` in the watch list until `now + ttlMs`, and drops expired entries. */
export async function registerWatch(
  redis: Redis,
  did: string,
  now: number,
  ttlMs = WATCH_TTL_MS,
): Promise<void> {
  if (!isValidDid(did)) throw new TypeError(`Cannot watch an account: "${did}" is not a DID`);
  await redis.multi()
    .zadd(firehoseKeys.watch, now + ttlMs, did)
    .zremrangebyscore(firehoseKeys.watch, "-inf", now)
    .exec();
}

/** The accounts watched at `now`, sorted: only valid DIDs, at most WATCH_MAX. */
export async function readWatch(redis: Redis, now: number): Promise<string[]> {
  const members = await redis.zrangebyscore(firehoseKeys.watch, now, "+inf", "LIMIT", 0, WATCH_MAX);
  return members.filter((m) => isValidDid(m)).sort();
}
