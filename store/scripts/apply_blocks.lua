-- The apply script (apply.lua), its part that keeps blocks as they stand.

-- Whom each account blocks (K.blocking: one member per block record) and who blocks it
-- (K.blockedBy), at any age: a delete finds its block by the record key.
local BLOCK = 4 -- the block collection's code in a record's field (RECORD_COLLECTION)
local ID = 268435456 -- 2^28: ids fit below it; a block's score is minute * ID + the other's id
local EXTRA = 1048576 -- 2^20: a further record's score is -(subject * EXTRA + hour)
local EPOCH_HOUR = 464592 -- 2023-01-01T00:00Z: blocks' minutes count from it
local MINUTES = 33554432 -- 2^25 minutes from the epoch (63 years): a score stays below 2^53
-- The record key of a block record's field F, or nil for any other collection.
local function block_key(f)
  if math.floor(struct.unpack('>I4', f) / ID) ~= BLOCK then return nil end
  return string.sub(f, 5)
end
-- The subject of a block record's pairs (its one pair of type 6) and the minute in its hour
-- (a pair of type 8); nil for a self-block.
local function block_subject(pairs)
  local s, m = nil, 0
  for k = 1, #pairs, 4 do
    local v = struct.unpack('>I4', pairs, k)
    local t = math.floor(v / ID)
    if t == 6 then s = v % ID elseif t == 8 then m = math.min(v % ID, 59) end
  end
  return s, m
end
-- The subject of a block record's score in K.blocking.
local function subject_of(score)
  if score >= 0 then return score % ID end
  return math.floor(-score / EXTRA)
end
-- A's block record R of S, made at a minute of an hour: A blocks S from then, unless it
-- does already (then R is kept as a further record of that block).
local function block_add(a, r, s, hour, minute)
  local out = K.blocking(a)
  if redis.call('ZSCORE', out, r) then return end
  local by = K.blockedBy(s)
  if has_member(by, a) then
    redis.call('ZADD', out, -(s * EXTRA + hour), r)
  else
    local at = math.max(0, math.min(MINUTES - 1, (hour - EPOCH_HOUR) * 60 + minute)) * ID
    redis.call('ZADD', out, at + s, r)
    remote('z', by, at + a, a)
  end
end
-- A's block record R gone: the block ends unless a further record of A's blocks S too,
-- which then takes its place (the block stands since the first). Returns whether A had R.
local function block_remove(a, r)
  local out = K.blocking(a)
  local score = tonumber(redis.call('ZSCORE', out, r))
  if not score then return false end
  redis.call('ZREM', out, r)
  if score < 0 then return true end
  local s = score % ID
  local further = redis.call('ZRANGEBYSCORE', out, -(s * EXTRA + EXTRA - 1), -(s * EXTRA),
    'LIMIT', 0, 1)
  if #further > 0 then
    redis.call('ZADD', out, score, further[1])
  else
    remote('r', K.blockedBy(s), a)
  end
  return true
end
-- A deleted: its records are gone, so its blocks end. Who blocks it stays (their records
-- stand: their lists keep it, and answers leave hidden accounts out) until the retention
-- sweep lets the account go (prune_profiles.lua) and takes it out of their lists. At
-- most ENDING_STEP of its blocks end in one call: an account with more waits in
-- K.blocksEnding, scored by the last of its blocks at its deletion, and end_blocks.lua ends
-- the rest in steps of that size, so that deleting an account with a million blocks does
-- not hold Redis for seconds (its blocks are hidden with it meanwhile). A block made after
-- the deletion stands.
-- (On a Cluster, where the blocks' ends are written by a second round, all end at once.)
local ENDING_STEP = CLUSTER and 1000000000 or 1000
-- Ends up to `limit` of A's blocks scored up to `last` (a score as Redis gave it); returns
-- whether none is left.
local function end_blocks(a, last, limit)
  local out = K.blocking(a)
  local scores = redis.call('ZRANGEBYSCORE', out, 0, last, 'WITHSCORES', 'LIMIT', 0, limit)
  local ended = {}
  for i = 1, #scores, 2 do
    remote('r', K.blockedBy(tonumber(scores[i + 1]) % ID), a)
    ended[#ended + 1] = scores[i]
  end
  -- In steps: unpack() takes at most about 8,000 values (a Cluster's deletion ends all at once).
  for k = 1, #ended, 1000 do
    redis.call('ZREM', out, unpack(ended, k, math.min(k + 999, #ended)))
  end
  if not CLUSTER and redis.call('ZCOUNT', out, 0, last) > 0 then
    redis.call('ZADD', K.blocksEnding, last, a)
    return false
  end
  -- The further records of the blocks ended go too; the list with them, unless newer
  -- blocks are in it.
  if redis.call('ZCOUNT', out, 0, '+inf') == 0 then
    redis.call('UNLINK', out)
  else
    redis.call('ZREMRANGEBYSCORE', out, '-inf', '(0')
  end
  if not CLUSTER then redis.call('ZREM', K.blocksEnding, a) end
  return true
end
local function blocks_of_deleted(a)
  local last = redis.call('ZRANGE', K.blocking(a), -1, -1, 'WITHSCORES')[2]
  if last == nil or tonumber(last) < 0 then last = '0' end
  end_blocks(a, last, ENDING_STEP)
end
-- A record of A's with field F and its pairs, made at an hour: when a block, A blocks its
-- subject from then.
local function block_created(a, f, pairs, hour)
  local r = block_key(f)
  if not r then return end
  local s, minute = block_subject(pairs)
  if s then block_add(a, r, s, hour, minute) end
end
