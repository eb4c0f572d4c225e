-- The apply script (apply.lua), its part that logs interactions and posts by language.

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
log_remote = log_remote or log_entry
local logkeys = {}
local function log_key(id, week)
  local byid = logkeys[week]
  if byid == nil then byid = {}; logkeys[week] = byid end
  local key = byid[id]
  if key == nil then key = K.log(id, week); byid[id] = key end
  return key
end
-- A post's language in the hour's K.languagePosts, 48 bits: (author id * 2^15 + language
-- code) * 2 + undo.
local function language_entry(a, lang, sign)
  local v = (a * 32768 + lang) * 2 + (sign < 0 and 1 or 0)
  local hi = math.floor(v / 4294967296)
  return struct.pack('>HI4', hi, v - hi * 4294967296)
end
-- Adds (sign 1) or takes back (sign -1) a record's pairs made by account a at an hour:
-- interactions and blocks in both accounts' logs, follows and blocks in a's set, a post's
-- languages in the hour's posts by language.
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
    if t == 9 then
      log_remote(K.languagePosts(hour), language_entry(a, s, sign), (hour + 1) * 3600 + retention)
      -- The posts by language name a now: its id is not reclaimed (posters.ts), whether it
      -- waits for the next sweep or retires in this one.
      if sign > 0 then
        remote('t', K.pendingIds, a); remote('t', K.pendingIds, -a)
        remote('t', K.retiringIds, a); remote('t', K.retiringIds, -a)
      end
    elseif t <= 6 then
      local sk = log_key(s, week)
      log_entry(ak, entry(s, 0, t, how, sign), wat)
      log_remote(sk, entry(a, 1, t, how, sign), wat)
    end
    if t == 6 or t == 7 then
      -- One set per account: whom it follows as ids, whom it blocks as negative ids.
      local set, m = K.graph(a), t == 6 and -s or s
      if sign > 0 then redis.call('SADD', set, m); expire_at(set, at) else redis.call('SREM', set, m) end
      -- A set names s now: its id is not reclaimed (reclaim_ids.lua).
      if sign > 0 then remote('t', K.retiringIds, s); remote('t', K.retiringIds, -s) end
    end
  end
end
