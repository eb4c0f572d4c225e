-- The reclaiming of idle accounts' ids (reclaim.ts), one small step a call. ARGV[1] the
-- step ("find" or "reclaim"), ARGV[2] and ARGV[3] the first and last week of the retention,
-- ARGV[4] its first hour, then how many kinds of an account's own keys take its id alone, their names (layout.ts),
-- how many take its id and a week, their names, then the step's own arguments:
--   find     the most ids the pending set may hold, then buckets of the reverse map: the
--            ids in them whose account is idle go into the pending set (with their
--            negations); returns how many.
--   reclaim  ids: each one still retiring leaves the retiring set, and when its account is
--            still idle its mappings go and it joins the free ids; the epoch moves on when
--            any did. Returns how many.
-- On a Redis Cluster, where the script keeps to the interning's slot (reclaim.ts), what it
-- cannot read of an account is read before and given as its facts: the id, how many of
-- its own keys other than its profile there are, its profile ("none", "mark" for only the
-- mark of a deletion, "other") and "1" when it is hidden. Its steps there:
--   find-facts  the most ids the pending set may hold, then accounts' facts: those idle go
--               pending, as `find` does; returns how many.
--   retract     the token of the writers' fence (reclaim.ts: it must still be up; it is
--               kept up for the ms given next), then accounts' facts: each one still retiring leaves the retiring set, and when
--               its account is still idle its DID's id goes (the DID is interned anew if
--               it comes back), the id joins K.retractedIds, and the epoch moves on when any
--               did. Returns how many.
--   free        ids retracted whose keys the caller deleted: they leave K.retractedIds, K.goneIds
--               and the reverse map, and join the free ids. Returns how many.
-- An account is idle when it has none of its own keys (in the retention's weeks for those
-- by week), no post in the posts by language still kept (its bit in K.posterIds, which
-- posters.ts writes before these steps run) and is not hidden; or when it is a deleted
-- account the sweep let go (K.goneIds, prune_profiles.lua) that no graph set has named
-- within the retention, with only the mark of its deletion as its profile and none of its
-- other keys: the mark and its hidden entry go with its id.
local step, first, last = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local since = tonumber(ARGV[4])
local i = 5
local single, weekly = {}, {}
for k = 1, tonumber(ARGV[i]) do single[k] = ARGV[i + k] end
i = i + 1 + #single
for k = 1, tonumber(ARGV[i]) do weekly[k] = ARGV[i + k] end
i = i + 1 + #weekly

if step ~= 'free' and redis.call('EXISTS', K.posterIds) == 0 then
  return redis.error_reply('The ids of posting accounts were not read (posters.ts)')
end

-- The fields of the mark a deleted account's profile becomes when the sweep lets it go.
local MARK = {status = true, aseq = true, dhour = true, hseq = true, pseq = true}
-- Whether A is a deleted account let go, not named by a graph set within the retention,
-- whose profile is still only that mark.
local function gone(a)
  local named = tonumber(redis.call('ZSCORE', K.goneIds, a))
  if not named or named >= since then return false end
  local p = redis.call('HGETALL', K.profile(a))
  for k = 1, #p, 2 do
    if not MARK[p[k]] or (p[k] == 'status' and p[k + 1] ~= 'deleted') then return false end
  end
  return true
end

-- The facts the caller read of each account, by id (on a Cluster).
local facts = {}
local function read_facts(from)
  local ids = {}
  for j = from, #ARGV, 4 do
    facts[ARGV[j]] = {keys = tonumber(ARGV[j + 1]), profile = ARGV[j + 2], hidden = ARGV[j + 3]}
    ids[#ids + 1] = ARGV[j]
  end
  return ids
end

local function idle(a)
  local f = facts[a]
  if f then
    local named = tonumber(redis.call('ZSCORE', K.goneIds, a))
    local marked = named and named < since and f.profile ~= 'other'
    return f.keys == 0 and (f.profile == 'none' or marked)
      and redis.call('GETBIT', K.posterIds, a) == 0 and (marked or f.hidden ~= '1')
  end
  local marked = gone(a)
  local keys = {}
  for _, name in ipairs(single) do
    if not (marked and name == 'profile') then keys[#keys + 1] = K[name](a) end
  end
  for _, name in ipairs(weekly) do
    for w = first, last do keys[#keys + 1] = K[name](a, w) end
  end
  return redis.call('EXISTS', unpack(keys)) == 0 and redis.call('GETBIT', K.posterIds, a) == 0
    and (marked or redis.call('SISMEMBER', K.hidden, a) == 0)
end

if step == 'find' then
  local room = 2 * tonumber(ARGV[i]) - redis.call('SCARD', K.pendingIds)
  local found = 0
  for j = i + 1, #ARGV do
    local b = tonumber(ARGV[j])
    local bucket = redis.call('HGETALL', K.idToDid(b))
    for k = 1, #bucket, 2 do
      if room < 2 then return found end
      local a = tostring(b * K.ID_BUCKET + tonumber(bucket[k]))
      if redis.call('HGET', K.didToId, bucket[k + 1]) == a and idle(a) then
        room = room - redis.call('SADD', K.pendingIds, a, '-' .. a)
        found = found + 1
      end
    end
  end
  return found
end

-- A's DID, when the interning maps it to A both ways.
local function mapped(a)
  local did = redis.call('HGET', K.idToDid(math.floor(tonumber(a) / K.ID_BUCKET)),
    tonumber(a) % K.ID_BUCKET)
  if did and redis.call('HGET', K.didToId, did) == a then return did end
  return nil
end

-- Each of `ids` still retiring leaves the retiring set; when its account is still idle, its
-- DID's id goes and `take(a)` takes the id; the epoch moves on when any did. Returns how many.
local function take_idle(ids, take)
  local n = 0
  for _, a in ipairs(ids) do
    if redis.call('SREM', K.retiringIds, a, '-' .. a) > 0 then
      local did = mapped(a)
      if did and idle(a) then
        redis.call('HDEL', K.didToId, did)
        redis.call('SREM', K.pendingIds, a, '-' .. a)
        take(a)
        n = n + 1
      end
    end
  end
  if n > 0 then redis.call('INCR', K.idEpoch) end
  return n
end

-- A's id joins the free ids, its reverse mapping gone; returns 1 when it was a deleted
-- account let go (no longer waiting in K.goneIds).
local function free(a)
  redis.call('HDEL', K.idToDid(math.floor(tonumber(a) / K.ID_BUCKET)), tonumber(a) % K.ID_BUCKET)
  redis.call('RPUSH', K.freeIds, a)
  return redis.call('ZREM', K.goneIds, a)
end

if step == 'reclaim' then
  return take_idle({unpack(ARGV, i)}, function(a)
    -- A deleted account let go: the mark of its deletion and its hidden entry go with it.
    if free(a) == 1 then
      redis.call('DEL', K.profile(a))
      redis.call('SREM', K.hidden, a)
    end
  end)
end

if step == 'find-facts' then
  local room = 2 * tonumber(ARGV[i]) - redis.call('SCARD', K.pendingIds)
  local found = 0
  for _, a in ipairs(read_facts(i + 1)) do
    if room < 2 then return found end
    if mapped(a) and idle(a) then
      room = room - redis.call('SADD', K.pendingIds, a, '-' .. a)
      found = found + 1
    end
  end
  return found
end

if step == 'retract' then
  if redis.call('GET', K.idFence) ~= ARGV[i] then
    return redis.error_reply('FENCE The writers\' fence is no longer up')
  end
  redis.call('PEXPIRE', K.idFence, ARGV[i + 1])
  return take_idle(read_facts(i + 2), function(a) redis.call('SADD', K.retractedIds, a) end)
end

if step == 'free' then
  local freed = 0
  for j = i, #ARGV do
    if redis.call('SREM', K.retractedIds, ARGV[j]) == 1 then
      free(ARGV[j])
      freed = freed + 1
    end
  end
  return freed
end

return redis.error_reply('Unknown step "' .. tostring(step) .. '"')
