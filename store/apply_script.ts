/**
 * The Lua script that applies a batch of operations and acknowledges their stream entries
 * in one atomic step: a batch is either wholly applied and acknowledged or not at all.
 * Operations, one after another in ARGV (ids are interned; H is an absolute hour; F is a
 * record's field in the record memory, which starts with its author A's id, and X a 32-bit
 * hash of F that picks its bucket). A record operation's argument is one string: X and H
 * (uint32 BE), the length of F (a byte), F, and for creates and updates the pairs P
 * (uint32 BE each: type * 2^28 + subject id).
 *   c [X H F P]  record of A created at hour H with pairs P
 *   u [X H F P]  record updated: what its last version added is taken back, P added
 *   d [X H F]    record deleted at hour H: what it added is taken back while remembered
 *   p A S N V    profile of A at seq S: display name N, avatar CID V ("" = none)
 *   h A S H      identity of A at seq S: handle H ("" = none given)
 *   s A S T Z    account of A at seq S: active T ("1"/"0"), status Z
 *   o A D C      A (DID D) posted opt code C ("out:CODE" or "in:CODE"): A is hidden or
 *                shown again when the API handed the code out for D and that action
 * Types 1-5 are interactions and 6 blocks (logged in both accounts' logs per week and
 * hour), 7 follows. Returns {applied, duplicate, unmatched, late} (unmatched: deletes of
 * unknown records and opt codes that match nothing), or {-1, …} when this
 * process no longer holds the partition's lease (nothing is written then).
 */
export const APPLY_SCRIPT = `
local retention = tonumber(ARGV[1])
local memsecs = tonumber(ARGV[2])
local memhours = tonumber(ARGV[3])
local stream, group = ARGV[4], ARGV[5]
local nids = tonumber(ARGV[6])
-- Fencing: only the holder of the partition's lease may write (ARGV[7] key, ARGV[8] token).
if ARGV[7] ~= '' and redis.call('GET', ARGV[7]) ~= ARGV[8] then
  return {-1, 0, 0, 0, 0}
end
local applied, duplicate, unmatched, late = 0, 0, 0, 0
-- Whether an event at seq is newer than the one that set a profile's part (its seq field):
-- the profile, handle and account ops keep only the newest.
local function newer(pk, field, seq)
  return tonumber(redis.call('HGET', pk, field) or '-1') < seq
end
local expiries = {}
local function expire_at(key, at)
  local cur = expiries[key]
  if cur == nil or cur < at then expiries[key] = at end
end
-- One log entry, 40 bits: the counterpart's id * 4096 + received * 2048 + undo * 1024
-- + (type - 1) * 168 + hour of the week.
local function entry(id, received, t, how, sign)
  local v = id * 4096 + received * 2048 + (sign < 0 and 1024 or 0) + (t - 1) * 168 + how
  local hi = math.floor(v / 4294967296)
  return struct.pack('>BI4', hi, v - hi * 4294967296)
end
-- Log entries are gathered per key and appended once per key at the end of the batch
-- (a popular account gets many in one batch; their order in a log does not matter).
local appends, append_expiry = {}, {}
local function log_entry(key, e, wat)
  local parts = appends[key]
  if parts == nil then
    parts = {}
    appends[key] = parts
    append_expiry[key] = wat
  end
  parts[#parts + 1] = e
end
local logkeys = {}
local function log_key(id, week)
  local byid = logkeys[week]
  if byid == nil then byid = {}; logkeys[week] = byid end
  local key = byid[id]
  if key == nil then key = 'l:{' .. id .. '}:' .. week; byid[id] = key end
  return key
end
local function apply_pairs(a, hour, pairs, sign)
  local day = math.floor(hour / 24)
  local week = math.floor(hour / 168)
  local how = hour % 168
  local at = (day + 1) * 86400 + retention
  local wat = (week + 1) * 604800 + retention
  local ak = log_key(a, week)
  for k = 1, #pairs, 4 do
    local v = struct.unpack('>I4', pairs, k)
    local t = math.floor(v / 268435456)
    local s = v - t * 268435456
    if t <= 6 then
      local sk = log_key(s, week)
      log_entry(ak, entry(s, 0, t, how, sign), wat)
      log_entry(sk, entry(a, 1, t, how, sign), wat)
    end
    if t == 6 or t == 7 then
      -- One set per account: whom it follows as ids, whom it blocks as negative ids.
      local set, m = 'g:{' .. a .. '}', t == 6 and -s or s
      if sign > 0 then redis.call('SADD', set, m); expire_at(set, at) else redis.call('SREM', set, m) end
    end
  end
end
-- The record memory is kept in spans of 8 hours (a record lives 48 to 56 hours with the
-- default memory) and spread over buckets. A span's bucket count is fixed at its first
-- record from the records of the span before (about 80 a bucket, so each stays a compact
-- listpack); the counts are kept in rb:{g} too.
local SPAN = 8
local clock = tonumber(redis.call('TIME')[1])
local buckets, remembered = {}, {}
local function buckets_of(span, create)
  local n = buckets[span]
  if n then return n end
  n = tonumber(redis.call('HGET', 'rb:{g}', span))
  if not n and create then
    local before = tonumber(redis.call('HGET', 'rb:{g}', 'n' .. (span - 1)) or '0')
    n = 64
    while n * 80 < before do n = n * 2 end
    redis.call('HSET', 'rb:{g}', span, n)
    redis.call('HDEL', 'rb:{g}', span - 30, 'n' .. (span - 30))
    -- The span's buckets are made now with their expiry, and an empty field that keeps
    -- each one alive until then, so that remembering a record needs no EXPIREAT.
    local at = (span + 1) * SPAN * 3600 + memsecs
    for b = 0, n - 1 do
      local key = 'r:{' .. b .. '}:' .. span
      redis.call('HSET', key, '', '')
      redis.call('EXPIREAT', key, at)
    end
  end
  if n then buckets[span] = n end
  return n
end
local function record_key(span, x, create)
  local n = buckets_of(span, create)
  if not n then return nil end
  return 'r:{' .. (x % n) .. '}:' .. span
end
-- The record F, looked for in the spans the record memory covers; returns its key, its
-- value and the absolute hour it was made at.
local function find_record(f, x, hour)
  local span = math.floor(hour / SPAN)
  for sp = span, span - math.ceil(memhours / SPAN) - 1, -1 do
    local key = record_key(sp, x, false)
    if key then
      local v = redis.call('HGET', key, f)
      if v then return key, v, sp * SPAN + string.byte(v, 1) end
    end
  end
  return nil, nil, nil
end
-- A remembered record: one byte for its hour in the span, then its pairs; "x" once deleted.
local function take_back(a, v, made)
  apply_pairs(a, made, string.sub(v, 2), -1)
end
-- Remembers a record (only if new when only_new is set); false when it was there already.
local function remember(f, x, hour, pairs, only_new)
  local span = math.floor(hour / SPAN)
  local key = record_key(span, x, true)
  local value = string.char(hour % SPAN) .. pairs
  if only_new then
    if redis.call('HSETNX', key, f, value) == 0 then return false end
  else
    redis.call('HSET', key, f, value)
  end
  remembered[span] = (remembered[span] or 0) + 1
  -- A span already past its expiry (an old event replayed) is not kept beyond this batch.
  local at = (span + 1) * SPAN * 3600 + memsecs
  if at <= clock then expire_at(key, at) end
  return true
end

-- A record operation's argument: X, H (uint32 BE each), the length of F (a byte), F, then P.
-- Returns A (F starts with A's id), F, X, H and P.
local function record_op(arg)
  local x, hour, flen = struct.unpack('>I4I4B', arg)
  local f = string.sub(arg, 10, 9 + flen)
  return struct.unpack('>I4', f) % 268435456, f, x, hour, string.sub(arg, 10 + flen)
end

local i = 9 + nids
local n = #ARGV
while i <= n do
  local op = ARGV[i]
  if op == 'c' then
    local a, f, x, hour, pairs = record_op(ARGV[i + 1])
    if remember(f, x, hour, pairs, true) then
      apply_pairs(a, hour, pairs, 1)
      applied = applied + 1
    else
      duplicate = duplicate + 1
    end
    i = i + 2
  elseif op == 'u' then
    local a, f, x, hour, pairs = record_op(ARGV[i + 1])
    local key, v, made = find_record(f, x, hour)
    if v == 'x' then
      duplicate = duplicate + 1
    else
      if v then take_back(a, v, made); redis.call('HDEL', key, f) end
      remember(f, x, hour, pairs, false)
      apply_pairs(a, hour, pairs, 1)
      applied = applied + 1
    end
    i = i + 2
  elseif op == 'd' then
    local a, f, x, hour = record_op(ARGV[i + 1])
    local key, v, made = find_record(f, x, hour)
    if not v then
      unmatched = unmatched + 1
    elseif v == 'x' then
      duplicate = duplicate + 1
    else
      if hour - made > memhours then
        late = late + 1
      else
        take_back(a, v, made)
        applied = applied + 1
      end
      -- A tombstone, so that a create delivered again is not counted again.
      redis.call('HSET', key, f, 'x')
    end
    i = i + 2
  elseif op == 'p' then
    local pk = 'p:{' .. ARGV[i + 1] .. '}'
    local seq = tonumber(ARGV[i + 2])
    if newer(pk, 'pseq', seq) then
      redis.call('HSET', pk, 'pseq', seq, 'name', ARGV[i + 3], 'avatar', ARGV[i + 4])
      applied = applied + 1
    else
      duplicate = duplicate + 1
    end
    i = i + 5
  elseif op == 'h' then
    local a = ARGV[i + 1]
    local pk = 'p:{' .. a .. '}'
    local seq = tonumber(ARGV[i + 2])
    local handle = ARGV[i + 3]
    if newer(pk, 'hseq', seq) then
      if handle ~= '' then
        local old = redis.call('HGET', pk, 'handle')
        if old then redis.call('ZREM', 'hx:{g}', old .. '\\0' .. a) end
        redis.call('ZADD', 'hx:{g}', 0, handle .. '\\0' .. a)
        redis.call('HSET', pk, 'handle', handle)
      end
      redis.call('HSET', pk, 'hseq', seq)
      applied = applied + 1
    else
      duplicate = duplicate + 1
    end
    i = i + 4
  elseif op == 's' then
    local a = ARGV[i + 1]
    local pk = 'p:{' .. a .. '}'
    local seq = tonumber(ARGV[i + 2])
    if newer(pk, 'aseq', seq) then
      if ARGV[i + 3] == '1' then
        -- An account that opted out stays hidden when it comes back.
        if not redis.call('HGET', pk, 'optout') then redis.call('SREM', 'hidden:{g}', a) end
        redis.call('HSET', pk, 'aseq', seq, 'status', 'active')
      else
        redis.call('SADD', 'hidden:{g}', a)
        redis.call('HSET', pk, 'aseq', seq, 'status', ARGV[i + 4])
      end
      applied = applied + 1
    else
      duplicate = duplicate + 1
    end
    i = i + 5
  elseif op == 'o' then
    local a, did = ARGV[i + 1], ARGV[i + 2]
    local action, code = string.match(ARGV[i + 3], '^(%a+):(%w+)$')
    local ck = 'oc:{g}:' .. (code or '')
    -- A code counts once, and only from the account it was handed out for.
    if code and redis.call('GET', ck) == did .. ' ' .. action then
      local pk = 'p:{' .. a .. '}'
      if action == 'out' then
        redis.call('HSET', pk, 'optout', '1')
        redis.call('SADD', 'hidden:{g}', a)
      else
        redis.call('HDEL', pk, 'optout')
        local status = redis.call('HGET', pk, 'status')
        if not status or status == 'active' then redis.call('SREM', 'hidden:{g}', a) end
      end
      redis.call('SET', ck, 'done ' .. did .. ' ' .. action, 'KEEPTTL')
      applied = applied + 1
    else
      unmatched = unmatched + 1
    end
    i = i + 4
  else
    return redis.error_reply('Unknown operation "' .. tostring(op) .. '" at argument ' .. i)
  end
end
for key, parts in pairs(appends) do
  local data = table.concat(parts)
  -- A week's expiry never changes: set it only when the append made the key.
  if redis.call('APPEND', key, data) == #data then expire_at(key, append_expiry[key]) end
end
for key, at in pairs(expiries) do redis.call('EXPIREAT', key, at) end
for span, n in pairs(remembered) do redis.call('HINCRBY', 'rb:{g}', 'n' .. span, n) end
if nids > 0 then redis.call('XACK', stream, group, unpack(ARGV, 9, 8 + nids)) end
return {applied, duplicate, unmatched, late}
`;

/**
 * Interns DIDs (as didKey() gives them): returns each one's id, allocating ids for new
 * DIDs. KEYS: the DID → id map, the id counter; the reverse map's hashes are
 * ids:{ids}:r:<id / 128>.
 */
export const INTERN_SCRIPT = `
local out = {}
for i, did in ipairs(ARGV) do
  local id = redis.call('HGET', KEYS[1], did)
  if not id then
    id = redis.call('INCR', KEYS[2])
    redis.call('HSET', KEYS[1], did, id)
    redis.call('HSET', 'ids:{ids}:r:' .. math.floor(id / 128), id % 128, did)
  end
  out[i] = tonumber(id)
end
return out
`;
