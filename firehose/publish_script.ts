/**
 * The publisher's scripts and what they answer (publisher.ts): the publish script, which
 * checks every cursor of a batch and writes its events, cursors and network counters in one
 * call, and the one-time move of a single server's streams to one hash slot per partition.
 */
import { StateCorruptionError } from "@bsky/shared/errors";
import { COUNTS_LUA } from "./network_counts.ts";

/**
 * KEYS: the counters' cursor (when ARGV[6] is not '-'), then per partition its cursor and
 * its stream. ARGV: 1 from ('' when none), 2 to, 3 maxlen, 4 event version, 5 best-effort
 * groups (comma-separated), 6 '-' when the counters are not in this call, else their encoded
 * counts, 7 the counters' cursor they apply on ('' when none); then per partition: '1' when
 * it may have no cursor yet, and its events' JSON, one per line (JSON never holds a raw
 * newline), in seq order.
 * Returns {1, to} applied, {2, to} nothing left to write (a resend), {0, stored cursor} a
 * cursor that does not fit (nothing written), {3, ''} a consumer too far behind (nothing
 * written).
 */
export const PUBLISH_SCRIPT = COUNTS_LUA + `
local from, to, maxlen, version = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local from_n, to_n = tonumber(from), tonumber(to)
local counted = ARGV[6] ~= '-'
local first = counted and 2 or 1
-- Groups that may lose what they have not read: never waited for.
local best_effort = {}
for name in string.gmatch(ARGV[5], '[^,]+') do best_effort[name] = true end
-- A consumer group's unconsumed entries (unread plus delivered and not acknowledged).
local function behind(key)
  local worst = 0
  for _, g in ipairs(redis.call('XINFO', 'GROUPS', key)) do
    local f = {}
    for k = 1, #g, 2 do f[g[k]] = g[k + 1] end
    if best_effort[f['name']] then f['lag'] = 0; f['pending'] = 0 end
    local lag = f['lag']
    if type(lag) ~= 'number' then lag = redis.call('XLEN', key) end
    worst = math.max(worst, lag + (f['pending'] or 0))
  end
  return worst
end
-- Everything is checked before anything is written.
local write_counts = false
if counted then
  local c, expected = redis.call('GET', KEYS[1]), ARGV[7]
  if c ~= to then
    if c ~= expected and not (c == false and expected == '') then return {0, c or ''} end
    write_counts = true
  end
end
local writes = {}
local any = write_counts
for i = first, #KEYS, 2 do
  local a = 8 + (i - first)
  local c = redis.call('GET', KEYS[i])
  local cn = tonumber(c)
  if cn == nil then
    if c or ARGV[a] ~= '1' then return {0, c or ''} end
    writes[#writes + 1] = {i, ARGV[a + 1], nil}
    any = true
  elseif cn < to_n then
    if from_n == nil or cn < from_n then return {0, c} end
    -- The events this partition holds already (a restart from a smaller cursor) are skipped.
    writes[#writes + 1] = {i, ARGV[a + 1], cn > from_n and cn or nil}
    any = true
  end
end
if not any then return {2, to} end
-- Refuse a batch that would let MAXLEN trim entries a consumer has not consumed.
local cap = tonumber(maxlen)
if cap > 0 then
  for _, w in ipairs(writes) do
    local key = KEYS[w[1] + 1]
    if w[2] ~= '' and redis.call('EXISTS', key) == 1 then
      local worst = behind(key)
      -- A batch holds at most one event per byte: its lines are counted only when even
      -- fewer could reach the cap, which spares a pass over every batch.
      if worst + #w[2] + 1 > cap then
        local n, at = 1, string.find(w[2], '\\n', 1, true)
        while at do n, at = n + 1, string.find(w[2], '\\n', at + 1, true) end
        if worst + n > cap then return {3, ''} end
      end
    end
  end
end
for _, w in ipairs(writes) do
  local key, skip, added = KEYS[w[1] + 1], w[3], 0
  -- Lines are cut with plain finds: a pattern's gmatch costs about as much as the XADD.
  local text, at, len = w[2], 1, #w[2]
  while at <= len do
    local stop = string.find(text, '\\n', at, true) or len + 1
    if stop > at then
      local e = string.sub(text, at, stop - 1)
      if skip then
        local seq = tonumber(string.match(e, '^{"v":%d+,"kind":"%a+","seq":(%d+)') or
          string.match(e, '"seq":(%d+)'))
        if seq == nil or seq > skip then skip = nil end
      end
      if not skip then
        redis.call('XADD', key, '*', 'v', version, 'e', e)
        added = added + 1
      end
    end
    at = stop + 1
  end
  -- One trim a batch, of a stream this batch added to (and so checked above): the cap is
  -- approximate (whole nodes), as it would be on each XADD. A trim removes at most 10,000
  -- entries (XADD's own bound) or twice what was added, whichever is more: it keeps up with
  -- any batch, and a stream far over the cap comes back to it in bounded steps.
  if added > 0 and tonumber(maxlen) > 0 then
    redis.call('XTRIM', key, 'MAXLEN', '~', maxlen, 'LIMIT', math.max(10000, 2 * added))
  end
  redis.call('SET', KEYS[w[1]], to)
end
-- The network counters of these events commit with them (see network_counts.ts).
if write_counts then
  apply_counts(ARGV[6])
  redis.call('SET', KEYS[1], to)
end
return {1, to}
`;

/** Moves a single server's streams of the previous layout to the new names, once. */
export const MIGRATE_SCRIPT = `
local n = tonumber(ARGV[2])
for p = 1, n do
  if redis.call('EXISTS', KEYS[2 + 3 * (p - 1)]) == 1 then return 0 end
end
local moved = 0
for p = 1, n do
  local cursor, stream, legacy = KEYS[2 + 3 * (p - 1)], KEYS[3 + 3 * (p - 1)], KEYS[4 + 3 * (p - 1)]
  if redis.call('EXISTS', legacy) == 1 and
    (redis.call('EXISTS', stream) == 0 or redis.call('XLEN', stream) == 0) then
    redis.call('RENAME', legacy, stream)
    moved = moved + 1
  end
  redis.call('SET', cursor, ARGV[1])
end
return moved
`;

/** The publish script's reply: a code and a cursor (see PUBLISH_SCRIPT). */
export type Reply = [number, string];

export type PublishResult =
  | { status: "applied" }
  /** Every cursor already holds this batch's value: a resend of a batch that landed. */
  | { status: "duplicate" }
  /**
   * A cursor is not where this batch starts (another writer, or Redis lost data): on one
   * server nothing was written; on Cluster, the partitions that fit were. `current` is that
   * cursor; loadCursor() reads them all again.
   */
  | { status: "conflict"; current: number | undefined }
  /** A consumer group is so far behind that the cap would trim what it has not read. */
  | { status: "full" };

/** A stored cursor: undefined when none is stored; anything but a non-negative integer is corrupt. */
export function parseCursor(value: string | null | undefined): number | undefined {
  if (value === null || value === undefined || value === "") return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new StateCorruptionError(`Cannot parse stored cursor: "${value}" is not an integer`);
  }
  return n;
}

/** What the publish script answered, as a PublishResult. */
export function toResult([code, current]: Reply): PublishResult {
  if (code === 1) return { status: "applied" };
  if (code === 2) return { status: "duplicate" };
  if (code === 3) return { status: "full" };
  return { status: "conflict", current: parseCursor(current) };
}
