/**
 * The Lua script that applies a batch of operations and acknowledges their stream entries
 * in one atomic step: a batch is either wholly applied and acknowledged or not at all.
 * Operations, one after another in ARGV (ids are interned; H is an absolute hour):
 *   c A R H P    record R of A created at hour H with pairs P (5 bytes each: type, subject)
 *   u A R H P    record R updated: what its last version added is taken back, P added
 *   d A R H      record R deleted at hour H: what it added is taken back while remembered
 *   p A S N V    profile of A at seq S: display name N, avatar CID V ("" = none)
 *   h A S H      identity of A at seq S: handle H ("" = none given)
 *   s A S T Z    account of A at seq S: active T ("1"/"0"), status Z
 * Types 1-5 are interactions (logged in both directions per week and hour), 6 a block, 7 a
 * follow. Returns {applied, duplicate, unmatched, late}, or {-1, …} when this
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
local expiries = {}
local function expire_at(key, at)
  local cur = expiries[key]
  if cur == nil or cur < at then expiries[key] = at end
end
-- One log entry: the counterpart's id, then (type - 1) * 168 + hour of the week as a
-- uint16, with the top bit set when the entry takes one back.
local function entry(id, t, how, sign)
  return struct.pack('>I4H', id, (t - 1) * 168 + how + (sign < 0 and 32768 or 0))
end
local function zbump(key, member, by, at)
  local v = tonumber(redis.call('ZINCRBY', key, by, member))
  if v <= 0 then redis.call('ZREM', key, member) end
  if by > 0 then expire_at(key, at) end
end
local function apply_pairs(a, hour, pairs, sign)
  local day = math.floor(hour / 24)
  local week = math.floor(hour / 168)
  local how = hour % 168
  local at = (day + 1) * 86400 + retention
  local wat = (week + 1) * 604800 + retention
  for k = 1, #pairs, 5 do
    local t, s = struct.unpack('>BI4', pairs, k)
    if t <= 5 then
      local ok = 'o:{' .. a .. '}:' .. week
      local ik = 'i:{' .. s .. '}:' .. week
      -- A week's expiry never changes: set it only when the append made the key.
      if redis.call('APPEND', ok, entry(s, t, how, sign)) == 6 then expire_at(ok, wat) end
      if redis.call('APPEND', ik, entry(tonumber(a), t, how, sign)) == 6 then expire_at(ik, wat) end
    elseif t == 6 then
      local bl = 'bl:{' .. a .. '}'
      if sign > 0 then redis.call('SADD', bl, s); expire_at(bl, at) else redis.call('SREM', bl, s) end
      zbump('bk:{g}:' .. day, s, sign, at)
      zbump('bkr:{g}:' .. day, a, sign, at)
    elseif t == 7 then
      local fo = 'fo:{' .. a .. '}'
      if sign > 0 then redis.call('SADD', fo, s); expire_at(fo, at) else redis.call('SREM', fo, s) end
    end
  end
end
-- The record of A with key R, looked for in the day keys the record memory spans;
-- returns its key, its value and the absolute hour it was made at.
local function find_record(a, r, hour)
  local day = math.floor(hour / 24)
  for d = day, day - math.ceil(memhours / 24) - 1, -1 do
    local key = 'r:{' .. a .. '}:' .. d
    local v = redis.call('HGET', key, r)
    if v then return key, v, d * 24 + string.byte(v, 1) end
  end
  return nil, nil, nil
end
-- A remembered record: one byte for its hour of the day, then its pairs; "x" once deleted.
local function take_back(a, v, made)
  apply_pairs(a, made, string.sub(v, 2), -1)
end
local function remember(a, r, hour, pairs)
  local day = math.floor(hour / 24)
  local key = 'r:{' .. a .. '}:' .. day
  redis.call('HSET', key, r, string.char(hour % 24) .. pairs)
  expire_at(key, (day + 1) * 86400 + memsecs)
end

local i = 9 + nids
local n = #ARGV
while i <= n do
  local op = ARGV[i]
  if op == 'c' then
    local a, r, hour, pairs = ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3]), ARGV[i + 4]
    local day = math.floor(hour / 24)
    local key = 'r:{' .. a .. '}:' .. day
    if redis.call('HSETNX', key, r, string.char(hour % 24) .. pairs) == 1 then
      expire_at(key, (day + 1) * 86400 + memsecs)
      apply_pairs(a, hour, pairs, 1)
      applied = applied + 1
    else
      duplicate = duplicate + 1
    end
    i = i + 5
  elseif op == 'u' then
    local a, r, hour, pairs = ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3]), ARGV[i + 4]
    local key, v, made = find_record(a, r, hour)
    if v == 'x' then
      duplicate = duplicate + 1
    else
      if v then take_back(a, v, made); redis.call('HDEL', key, r) end
      remember(a, r, hour, pairs)
      apply_pairs(a, hour, pairs, 1)
      applied = applied + 1
    end
    i = i + 5
  elseif op == 'd' then
    local a, r, hour = ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3])
    local key, v, made = find_record(a, r, hour)
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
      redis.call('HSET', key, r, 'x')
    end
    i = i + 4
  elseif op == 'p' then
    local pk = 'p:{' .. ARGV[i + 1] .. '}'
    local seq = tonumber(ARGV[i + 2])
    if tonumber(redis.call('HGET', pk, 'pseq') or '-1') < seq then
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
    if tonumber(redis.call('HGET', pk, 'hseq') or '-1') < seq then
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
    if tonumber(redis.call('HGET', pk, 'aseq') or '-1') < seq then
      if ARGV[i + 3] == '1' then
        redis.call('SREM', 'hidden:{g}', a)
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
  else
    return redis.error_reply('Unknown operation "' .. tostring(op) .. '" at argument ' .. i)
  end
end
for key, at in pairs(expiries) do redis.call('EXPIREAT', key, at) end
if nids > 0 then redis.call('XACK', stream, group, unpack(ARGV, 9, 8 + nids)) end
return {applied, duplicate, unmatched, late}
`;

/** Interns DIDs: returns each one's id, allocating ids for new DIDs. */
export const INTERN_SCRIPT = `
local out = {}
for i, did in ipairs(ARGV) do
  local id = redis.call('HGET', KEYS[1], did)
  if not id then
    id = redis.call('INCR', KEYS[3])
    redis.call('HSET', KEYS[1], did, id)
    redis.call('HSET', KEYS[2], id, did)
  end
  out[i] = tonumber(id)
end
return out
`;
