-- Drops the growth slack of closed hours' posts by language (languages.ts): a string that
-- grew by APPEND keeps up to as much room again as it holds; written again whole, it takes
-- its length (and the allocator's rounding, a quarter at most). Only when the slack is over
-- half of it, keeping its TTL, in one step with respect to the apply script's appends.
-- KEYS[1]: the first hour's string (for a Redis Cluster's routing: every hour's shares its
-- slot). ARGV: the hours. Returns the bytes freed.
local freed = 0
for i = 1, #ARGV do
  local key = K.languagePosts(ARGV[i])
  local used = redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')
  if used then
    local len = redis.call('STRLEN', key)
    if used > len * 1.5 + 256 then
      redis.call('SET', key, redis.call('GET', key), 'KEEPTTL')
      freed = freed + used - redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')
    end
  end
end
return freed
