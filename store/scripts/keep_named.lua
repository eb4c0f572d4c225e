-- The retiring ids that graph sets name, on one node of a Redis Cluster (reclaim.ts), where
-- no command may take keys of two slots: ARGV[1] the node's copy of the retiring set (in a
-- slot it serves), then the keys of graph sets it serves. Returns, per graph set, the
-- members of it the copy holds. Fails when the copy is not there (it expired, or moved
-- with its slot): it always holds an id while any retires.
local copy = ARGV[1]
if redis.call('EXISTS', copy) == 0 then
  return redis.error_reply('NOCOPY The copy of the retiring ids is not on this node')
end
local out = {}
for i = 2, #ARGV do
  local members = redis.call('SMEMBERS', ARGV[i])
  local found = {}
  -- SMISMEMBER in steps, within what Lua's stack takes.
  for at = 1, #members, 4000 do
    local part = {unpack(members, at, math.min(at + 3999, #members))}
    local is = redis.call('SMISMEMBER', copy, unpack(part))
    for k = 1, #part do
      if is[k] == 1 then found[#found + 1] = part[k] end
    end
  end
  out[i - 1] = found
end
return out
