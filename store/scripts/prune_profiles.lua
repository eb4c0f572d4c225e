-- Deletes the profiles of idle accounts (retention.ts). ARGV: the first and last week
-- within the retention, then ids. An account is idle when it has no log in those weeks
-- and no follows or blocks set (which expire with the retention) nor blocks as they stand
-- (either direction: the block lists show its profile), is active (or was never said not
-- to be) and has not opted out: its profile and its handle index entry go.
-- Returns how many were deleted.
local first, last = tonumber(ARGV[1]), tonumber(ARGV[2])
local pruned = 0
for i = 3, #ARGV do
  local a = ARGV[i]
  local pk = K.profile(a)
  local f = redis.call('HMGET', pk, 'optout', 'status', 'handle')
  local idle = not f[1] and (not f[2] or f[2] == 'active')
    and redis.call('EXISTS', K.graph(a), K.blocking(a), K.blockedBy(a)) == 0
  if idle then
    for w = first, last do
      if redis.call('EXISTS', K.log(a, w)) == 1 then
        idle = false
        break
      end
    end
  end
  if idle then
    if f[3] then redis.call('ZREM', K.handles, f[3] .. '\0' .. a) end
    redis.call('DEL', pk)
    pruned = pruned + 1
  end
end
return pruned
