-- Deletes the profiles of idle accounts, and lets deleted accounts go (retention.ts).
-- ARGV: the first and last week within the retention, the most blocks of deleted accounts
-- this call may take out of their blockers' lists, the first hour within the retention,
-- "0" (on one server), then ids.
-- An account is idle when it has no log in those weeks and no follows or blocks set (which
-- expire with the retention) nor blocks of its own as they stand, and has not opted out.
-- - Idle and active (or never said not to be), and blocked by nobody (the block lists show
--   its profile): its profile and its handle index entry go.
-- - Idle and deleted before the retention's first hour (`dhour`, which deletions have kept
--   since who blocks a deleted account is kept too), its own blocks all ended (not in
--   K.blocksEnding): who blocks it loses it from their lists (the scores in K.blockedBy give
--   each block's exact score in theirs, and further records of the same block are scored by
--   the subject), the budget a call; once nobody does, its profile gives way to a mark that
--   it was deleted (status, dhour and the seqs: still hidden, still a 410), its handle index
--   entry goes, and it joins K.goneIds: the reclaim gives its id back rather than keep it
--   for the follows that still name it (a retention after the last one was dropped, so that
--   no remembered record names it then; reclaim.ts), and drops the mark then. A block of it
--   made meanwhile (a late event, a backfill) is taken out again at the next sweep.
-- Other accounts that are not active (deactivated, taken down, suspended) may come back
-- with what they had: they are kept; so are accounts deleted before `dhour` was kept (who
-- blocks them was dropped with them, so their blockers' lists cannot be found).
-- Returns how many profiles were deleted or accounts let go, then the ids of deleted
-- accounts whose blockers' lists the budget did not cover (to be called again).
-- ARGV[5] "1": on a Redis Cluster (KEYS[1] the profile, for the routing), one account a
-- call, and the script keeps to its slot (retention.ts does the rest, in the others):
-- ARGV[6] the id, ARGV[7] "1" while its own blocks are still ending, then blockers (id,
-- score) the caller took A out of the lists of since the last call, each taken out of
-- `bi:` unless its block was made again meanwhile (another score). Returns {what was done
-- ('kept', 'dropped' for a profile deleted, 'unblock' for blockers to take A out of the
-- lists of, 'gone' for a deleted account let go), its handle ('' for none), then for
-- 'unblock' up to the budget of blockers, an id and a score each}; the handle index, the
-- hidden set and K.goneIds are the caller's to write then.
local ID, EXTRA = 268435456, 1048576 -- as in apply_blocks.lua
local first, last, budget = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local since = tonumber(ARGV[4])
local cluster = ARGV[5] == '1'
local pruned, unfinished = 0, {}

local function idle(a)
  if redis.call('EXISTS', K.graph(a), K.blocking(a)) > 0 then return false end
  for w = first, last do
    if redis.call('EXISTS', K.log(a, w)) == 1 then return false end
  end
  return true
end

local function drop(a, pk, handle)
  if handle and not cluster then redis.call('ZREM', K.handles, handle .. '\0' .. a) end
  pruned = pruned + redis.call('DEL', pk)
end

-- Deleted account A, out of every blocker's list: its profile becomes the mark that it was
-- deleted, and it waits in K.goneIds for its id to go back.
local function let_go(a, pk, handle)
  if handle and not cluster then redis.call('ZREM', K.handles, handle .. '\0' .. a) end
  -- The seqs stay, so that a late identity or profile event is still known as older.
  local kept = redis.call('HMGET', pk, 'aseq', 'dhour', 'hseq', 'pseq')
  redis.call('DEL', pk)
  redis.call('HSET', pk, 'status', 'deleted', 'aseq', kept[1] or '0', 'dhour', kept[2],
    'hseq', kept[3] or '0', 'pseq', kept[4] or '0')
  if cluster then return end
  redis.call('SADD', K.hidden, a)
  -- Scored by the hour a graph set last named it: none yet (reclaim.ts).
  pruned = pruned + redis.call('ZADD', K.goneIds, 'NX', 0, a)
end

-- Takes deleted account A out of the lists of up to `budget` of its blockers; returns
-- whether none is left.
local function unblock_deleted(a)
  local by = K.blockedBy(a)
  if budget > 0 then
    local entries = redis.call('ZRANGE', by, 0, budget - 1, 'WITHSCORES')
    local done = {}
    local s = tonumber(a)
    for k = 1, #entries, 2 do
      local b = entries[k]
      local at = math.floor(tonumber(entries[k + 1]) / ID) * ID + s
      local out = K.blocking(b)
      redis.call('ZREMRANGEBYSCORE', out, at, at)
      redis.call('ZREMRANGEBYSCORE', out, -(s * EXTRA + EXTRA - 1), -(s * EXTRA))
      done[#done + 1] = b
    end
    if #done > 0 then redis.call('ZREM', by, unpack(done)) end
    budget = budget - #done
  end
  return redis.call('EXISTS', by) == 0
end

-- Whether A is to be let go or its profile deleted, and how: 'kept', 'dropped', 'gone',
-- or 'unblock' while blockers are left (`ending`: its own blocks are still ending).
local function prune(a, pk, ending)
  local f = redis.call('HMGET', pk, 'optout', 'status', 'handle', 'dhour')
  local status = f[2]
  if f[1] or not idle(a) then
    return 'kept', f[3] -- opted out, or not idle
  elseif not status or status == 'active' then
    if redis.call('EXISTS', K.blockedBy(a)) == 0 then
      local before = pruned
      drop(a, pk, f[3])
      if pruned > before then return 'dropped', f[3] end
    end
  elseif status == 'deleted' and tonumber(f[4] or 'x') and tonumber(f[4]) < since
    and not ending then
    if cluster then
      -- The blockers are the caller's to take A out of the lists of, in their slots.
      if redis.call('EXISTS', K.blockedBy(a)) == 1 then return 'unblock', f[3] end
      let_go(a, pk, f[3])
      return 'gone', f[3]
    end
    if unblock_deleted(a) then let_go(a, pk, f[3]) else unfinished[#unfinished + 1] = a end
  end
  return 'kept', f[3]
end

if cluster then
  local a = ARGV[6]
  local by = K.blockedBy(a)
  for k = 8, #ARGV, 2 do
    local score = redis.call('ZSCORE', by, ARGV[k])
    if score and tonumber(score) == tonumber(ARGV[k + 1]) then redis.call('ZREM', by, ARGV[k]) end
  end
  local did, handle = prune(a, K.profile(a), ARGV[7] == '1')
  local out = {did, handle or ''}
  if did == 'unblock' then
    local entries = redis.call('ZRANGE', by, 0, budget - 1, 'WITHSCORES')
    for k = 1, #entries do out[#out + 1] = entries[k] end
  end
  return out
end

for i = 6, #ARGV do
  local a = ARGV[i]
  prune(a, K.profile(a), redis.call('ZSCORE', K.blocksEnding, a))
end
return {pruned, unpack(unfinished)}
