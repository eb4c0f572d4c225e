/**
 * Profile upkeep: the accounts in the top lists, then those the API looked up most
 * recently, get their handle and profile checked against the identity network, within a
 * budget of requests per run. A handle comes from the DID document and counts only when
 * the handle resolves back to the DID; the display name and avatar come from the profile
 * record on the account's PDS. The firehose's own updates carry a seq and always win: a
 * field is written only if its seq in `p:{id}` did not change while we fetched.
 */
import { fetchPublic } from "@bsky/shared/public_fetch";
import { readJson } from "@bsky/shared/bounded_read";
import {
  fetchDidDocument,
  handleOfDocument,
  pdsOfDocument,
  resolveHandle,
} from "@bsky/shared/identity";
import { jobKeys, statsKeys, TOP_METRICS, TOP_WINDOWS, type TopSnapshot } from "@bsky/shared/keys";
import type { Redis } from "@bsky/shared/redis";
import { profileVersion, writeCheckedProfile } from "@bsky/store/profiles";

/** When each DID was last checked (ms). */
export const CHECKED_KEY = "sched:{g}:profiles_checked";
/** Looked-up DIDs kept for upkeep: the newest this many. */
const LOOKED_UP_CAP = 10_000;

export interface ProfileUpkeepOptions {
  plcUrl: string;
  handleResolverUrl: string;
  /** Requests this run may make. */
  budget: number;
  maxAgeHours: number;
  fetch?: typeof fetch;
  /**
   * Fetch profile records from PDS hosts on loopback, private networks and any port, and
   * did:web documents likewise (development and tests with a local PDS only).
   */
  allowPrivate?: boolean;
  now: number;
  /** Called between reading a profile's seqs and writing it (tests). */
  beforeWrite?: (did: string) => Promise<void>;
}

/** The accounts to check, best first: top lists, then recent look-ups. */
async function candidates(redis: Redis): Promise<string[]> {
  const keys = TOP_WINDOWS.flatMap((w) => TOP_METRICS.map((m) => statsKeys.top(w, m)));
  const out = new Set<string>();
  for (const raw of await redis.mget(...keys)) {
    if (!raw) continue;
    for (const item of (JSON.parse(raw) as TopSnapshot).items) out.add(item.did);
  }
  for (const did of await redis.zrevrange(jobKeys.lookedUp, 0, LOOKED_UP_CAP - 1)) out.add(did);
  return [...out];
}

async function profileRecord(
  pds: string,
  did: string,
  fetchFn: typeof fetch,
  allowPrivate: boolean,
): Promise<{ name: string; avatar: string }> {
  const url = new URL("/xrpc/com.atproto.repo.getRecord", pds);
  url.searchParams.set("repo", did);
  url.searchParams.set("collection", "app.bsky.actor.profile");
  url.searchParams.set("rkey", "self");
  // The PDS is whatever the DID document names: never our own network's hosts.
  const res = await fetchPublic(url, { fetch: fetchFn, allowPrivate, timeoutMs: 5000 });
  // No profile record: no name and no avatar.
  if (res.status === 400 || res.status === 404) {
    await res.body?.cancel();
    return { name: "", avatar: "" };
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new Error(`Cannot read the profile of ${did}: status ${res.status}`);
  }
  const value = (await readJson(res) as { value?: Record<string, unknown> }).value ?? {};
  const name = typeof value.displayName === "string" ? value.displayName.slice(0, 640) : "";
  const ref = (value.avatar as { ref?: { $link?: unknown } } | undefined)?.ref?.$link;
  return { name, avatar: typeof ref === "string" ? ref : "" };
}

export async function refreshProfiles(redis: Redis, options: ProfileUpkeepOptions) {
  const fetchFn = options.fetch ?? fetch;
  const { now, allowPrivate = false } = options;
  const all = await candidates(redis);
  const checkedAt = all.length ? await redis.zmscore(CHECKED_KEY, ...all) : [];
  const due = all.filter((_, k) =>
    checkedAt[k] === null || Number(checkedAt[k]) < now - options.maxAgeHours * 3_600_000
  );
  let requests = 0, checked = 0, updated = 0, failed = 0, unknown = 0, unreachable = 0;
  for (const did of due) {
    // Up to three requests an account: its document, its handle back, its profile record.
    if (requests + 3 > options.budget) break;
    const seen = await profileVersion(redis, did);
    if (!seen) continue;
    try {
      requests++;
      const doc = await fetchDidDocument(did, options.plcUrl, { fetch: fetchFn, allowPrivate });
      if (!doc) {
        unknown++;
      } else {
        let handle = handleOfDocument(doc) ?? "";
        if (handle) {
          requests++;
          if (await resolveHandle(handle, options.handleResolverUrl, fetchFn) !== did) handle = "";
        }
        const pds = pdsOfDocument(doc, did);
        let profile: { name: string; avatar: string } | undefined;
        if (pds) {
          requests++;
          // A PDS this process may not reach still leaves the handle checked.
          profile = await profileRecord(pds, did, fetchFn, allowPrivate).catch(() => {
            unreachable++;
            return undefined;
          });
        }
        await options.beforeWrite?.(did);
        updated += await writeCheckedProfile(redis, seen, { handle, profile });
      }
      checked++;
      await redis.zadd(CHECKED_KEY, now, did);
    } catch {
      failed++;
    }
  }
  // Bounded: only recent look-ups and checks are kept.
  await redis.multi()
    .zremrangebyrank(jobKeys.lookedUp, 0, -LOOKED_UP_CAP - 1)
    .expire(jobKeys.lookedUp, 7 * 86400)
    .zremrangebyscore(CHECKED_KEY, "-inf", now - options.maxAgeHours * 3_600_000)
    .expire(CHECKED_KEY, 7 * 86400)
    .exec();
  return {
    candidates: all.length,
    due: due.length,
    checked,
    updated,
    failed,
    unknown,
    unreachable,
    requests,
  };
}
