-- The roll-up's swap (rollup.ts): replaces the first ARGV[1] bytes of the log KEYS[1], if
-- their SHA-1 is still ARGV[2] and the index of its digest KEYS[2] is still ARGV[4] (""
-- for none), by ARGV[3], keeping the log's TTL. Then the digest's fields: ARGV[5] of them
-- go (those that follow), and the field / value pairs after them are written, the digest
-- expiring with the log. Returns the new length, -1 when the log or its digest changed
-- since they were read, or -2 when a roll-up in steps holds the log (KEYS[3], its lock:
-- see swap_staged.lua) and the swap is left to it.
if redis.call('EXISTS', KEYS[3]) == 1 then return -2 end
local cur = redis.call('GET', KEYS[1])
local n = tonumber(ARGV[1])
if not cur or #cur < n or redis.sha1hex(string.sub(cur, 1, n)) ~= ARGV[2] then return -1 end
if (redis.call('HGET', KEYS[2], 'x') or '') ~= ARGV[4] then return -1 end
local out = ARGV[3] .. string.sub(cur, n + 1)
if #out == 0 then
  redis.call('DEL', KEYS[1], KEYS[2])
  return 0
end
redis.call('SET', KEYS[1], out, 'KEEPTTL')
local gone = tonumber(ARGV[5])
-- In chunks: unpack() has a limit.
for i = 6, 5 + gone, 1000 do
  redis.call('HDEL', KEYS[2], unpack(ARGV, i, math.min(5 + gone, i + 999)))
end
if #ARGV > 5 + gone then
  for i = 6 + gone, #ARGV, 1000 do
    redis.call('HSET', KEYS[2], unpack(ARGV, i, math.min(#ARGV, i + 999)))
  end
  local at = redis.call('PEXPIRETIME', KEYS[1])
  if at > 0 then redis.call('PEXPIREAT', KEYS[2], at) end
end
return #out
