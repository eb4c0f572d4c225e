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
  /** Minute → field → events; the field is a collection, or "identity" / "account". */
  events: Map<number, Map<string, number>>;
  /** Hour → kind (posters, likers, all) → DIDs active in that hour. */
  active: Map<number, Map<"posters" | "likers" | "all", Set<string>>>;
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

/** The maps of one minute and one hour; events come in time order, so these rarely change. */
function minuteOf(c: NetworkCounts, time: number): Map<string, number> {
  const minute = Math.floor(time / MINUTE_MS);
  let m = c.events.get(minute);
  if (!m) c.events.set(minute, m = new Map());
  return m;
}

function hourOf(c: NetworkCounts, time: number): Map<"posters" | "likers" | "all", Set<string>> {
  const hour = Math.floor(time / HOUR_MS);
  let h = c.active.get(hour);
  if (!h) c.active.set(hour, h = new Map([["all", new Set()]]));
  return h;
}

function add(
  h: Map<"posters" | "likers" | "all", Set<string>>,
  kind: "posters" | "likers",
  did: string,
) {
  let set = h.get(kind);
  if (!set) h.set(kind, set = new Set());
  set.add(did);
}

/** Counts one event the firehose keeps. */
export function countEvent(c: NetworkCounts, e: FirehoseEvent): void {
  const m = minuteOf(c, e.time), h = hourOf(c, e.time);
  h.get("all")!.add(e.did);
  const field = e.kind === "commit" ? e.collection : e.kind;
  m.set(field, (m.get(field) ?? 0) + 1);
  if (e.kind !== "commit" || e.action !== "create") return;
  if (e.collection === "app.bsky.feed.post") add(h, "posters", e.did);
  else if (e.collection === "app.bsky.feed.like") add(h, "likers", e.did);
}

/** Counts an op of a collection the firehose drops (its author is active too). */
export function countIgnored(c: NetworkCounts, collection: string, time: number, did: string) {
  const m = minuteOf(c, time);
  const field = collection.length <= 100 && NSID.test(collection) ? collection : "other";
  m.set(field, (m.get(field) ?? 0) + 1);
  hourOf(c, time).get("all")!.add(did);
}

/** Counts a repository's first commit (a new account). */
export function countCreated(c: NetworkCounts, time: number): void {
  const hour = Math.floor(time / HOUR_MS);
  c.created.set(hour, (c.created.get(hour) ?? 0) + 1);
}

/** Adds `from` into `into` (`from` may be used up: sets are shared when `into` has none). */
export function mergeCounts(into: NetworkCounts, from: NetworkCounts): void {
  for (const [minute, fields] of from.events) {
    const m = into.events.get(minute);
    if (!m) into.events.set(minute, new Map(fields));
    else for (const [f, n] of fields) m.set(f, (m.get(f) ?? 0) + n);
  }
  for (const [hour, kinds] of from.active) {
    let h = into.active.get(hour);
    if (!h) into.active.set(hour, h = new Map());
    for (const [kind, dids] of kinds) {
      const set = h.get(kind);
      if (!set) h.set(kind, new Set(dids));
      else for (const d of dids) set.add(d);
    }
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
  for (const [minute, fields] of c.events) {
    const key = networkKeys.eventsMinute(minute);
    for (const [field, n] of fields) lines.push(`e\t${key}\t${minuteTtl}\t${field}\t${n}`);
  }
  for (const [hour, kinds] of c.active) {
    for (const [kind, dids] of kinds) {
      if (dids.size === 0) continue;
      const key = networkKeys.activeHour(kind, hour);
      lines.push(`a\t${key}\t${hourTtl}\t${[...dids].join(" ")}`);
    }
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
