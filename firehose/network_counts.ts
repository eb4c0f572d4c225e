/**
 * Network-wide counters, aggregated per batch and written by the publish script together
 * with the batch's events and cursor, so they are exact across restarts: events per
 * minute by collection, the distinct accounts active per hour (HyperLogLog: posters,
 * likers, all) and new accounts per hour. Plain Maps and Sets, so a result from the
 * decode worker crosses threads as it is.
 */
import type { FirehoseEvent } from "@bsky/shared/events";
import { networkKeys } from "@bsky/shared/keys";

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;

export interface NetworkCounts {
  /** "minute\tfield" → events; the field is a collection, or "identity" / "account". */
  events: Map<string, number>;
  /** "kind\thour" → DIDs active in that hour (kind: posters, likers, all). */
  active: Map<string, Set<string>>;
  /** Hour → repositories whose first commit was seen. */
  created: Map<number, number>;
}

export function emptyCounts(): NetworkCounts {
  return { events: new Map(), active: new Map(), created: new Map() };
}

export function isEmptyCounts(c: NetworkCounts): boolean {
  return c.events.size === 0 && c.active.size === 0 && c.created.size === 0;
}

/** Collection names come from upstream: keep only NSID-shaped ones by name. */
const NSID = /^[a-zA-Z][a-zA-Z0-9-]*(\.[a-zA-Z0-9-]+){2,}$/;

function addEventCount(c: NetworkCounts, time: number, field: string, n = 1): void {
  const key = `${Math.floor(time / MINUTE_MS)}\t${field}`;
  c.events.set(key, (c.events.get(key) ?? 0) + n);
}

function addActive(
  c: NetworkCounts,
  kind: "posters" | "likers" | "all",
  hour: number,
  did: string,
) {
  const key = `${kind}\t${hour}`;
  let set = c.active.get(key);
  if (!set) c.active.set(key, set = new Set());
  set.add(did);
}

/** Counts one event the firehose keeps. */
export function countEvent(c: NetworkCounts, e: FirehoseEvent): void {
  const hour = Math.floor(e.time / HOUR_MS);
  addActive(c, "all", hour, e.did);
  if (e.kind !== "commit") return addEventCount(c, e.time, e.kind);
  addEventCount(c, e.time, e.collection);
  if (e.action !== "create") return;
  if (e.collection === "app.bsky.feed.post") addActive(c, "posters", hour, e.did);
  else if (e.collection === "app.bsky.feed.like") addActive(c, "likers", hour, e.did);
}

/** Counts an op of a collection the firehose drops (its author is active too). */
export function countIgnored(c: NetworkCounts, collection: string, time: number, did: string) {
  addEventCount(c, time, NSID.test(collection) && collection.length <= 100 ? collection : "other");
  addActive(c, "all", Math.floor(time / HOUR_MS), did);
}

/** Counts a repository's first commit (a new account). */
export function countCreated(c: NetworkCounts, time: number): void {
  const hour = Math.floor(time / HOUR_MS);
  c.created.set(hour, (c.created.get(hour) ?? 0) + 1);
}

/** Adds `from` into `into`. */
export function mergeCounts(into: NetworkCounts, from: NetworkCounts): void {
  for (const [k, n] of from.events) into.events.set(k, (into.events.get(k) ?? 0) + n);
  for (const [k, dids] of from.active) {
    const set = into.active.get(k);
    if (!set) into.active.set(k, new Set(dids));
    else for (const d of dids) set.add(d);
  }
  for (const [h, n] of from.created) into.created.set(h, (into.created.get(h) ?? 0) + n);
}

/**
 * The counts as the publish script reads them: one line per key, tab-separated:
 * `e key ttl field n` (HINCRBY), `a key ttl did did …` (PFADD), `n key ttl n` (INCRBY).
 */
export function encodeCounts(c: NetworkCounts): string {
  const lines: string[] = [];
  const minuteTtl = networkKeys.MINUTE_TTL_SECONDS, hourTtl = networkKeys.HOUR_TTL_SECONDS;
  for (const [k, n] of c.events) {
    const tab = k.indexOf("\t");
    const key = networkKeys.eventsMinute(Number(k.slice(0, tab)));
    lines.push(`e\t${key}\t${minuteTtl}\t${k.slice(tab + 1)}\t${n}`);
  }
  for (const [k, dids] of c.active) {
    const [kind, hour] = k.split("\t");
    const key = networkKeys.activeHour(kind as "all", Number(hour));
    lines.push(`a\t${key}\t${hourTtl}\t${[...dids].join(" ")}`);
  }
  for (const [hour, n] of c.created) {
    lines.push(`n\t${networkKeys.createdHour(hour)}\t${hourTtl}\t${n}`);
  }
  return lines.join("\n");
}

/** The Lua that applies encoded counts (inside the publish script, with the batch). */
export const COUNTS_LUA = `
local function apply_counts(text)
  for line in string.gmatch(text, '[^\\n]+') do
    local op, key, ttl, rest = string.match(line, '^(%a)\\t([^\\t]+)\\t(%d+)\\t(.*)$')
    if op == 'e' then
      local field, n = string.match(rest, '^(.*)\\t(%d+)$')
      -- Bound the fields of a minute whatever upstream sends.
      if redis.call('HEXISTS', key, field) == 0 and redis.call('HLEN', key) >= 500 then
        field = 'other'
      end
      redis.call('HINCRBY', key, field, n)
    elseif op == 'a' then
      local members = {}
      for did in string.gmatch(rest, '%S+') do
        members[#members + 1] = did
        if #members == 1000 then redis.call('PFADD', key, unpack(members)); members = {} end
      end
      if #members > 0 then redis.call('PFADD', key, unpack(members)) end
    elseif op == 'n' then
      redis.call('INCRBY', key, rest)
    end
    if op then redis.call('EXPIRE', key, ttl) end
  end
end
`;
