-- The roll-up's swap (rollup.ts): replaces the first ARGV[1] bytes of the log KEYS[1], if
-- their SHA-1 is still ARGV[2], by ARGV[3], keeping the log's TTL. Returns the new length,
-- or -1 when the log changed since it was read.
local cur = redis.call('GET', KEYS[1])
local n = tonumber(ARGV[1])
if not cur or #cur < n or redis.sha1hex(string.sub(cur, 1, n)) ~= ARGV[2] then return -1 end
local out = ARGV[3] .. string.sub(cur, n + 1)
if #out == 0 then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], out, 'KEEPTTL') end
return #out
