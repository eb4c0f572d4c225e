-- The apply script (apply.lua), its part that writes what lands outside the slot of an
-- operation's author (a counterpart's keys, the shared ones): on one server, at once. On a
-- Cluster, apply_cluster_writes.lua takes its place and returns such writes for a second
-- round instead (cluster_apply.ts). Also in the script that ends blocks (end_blocks.lua).
-- A write, with the ops of the writes by slot (slot_writes.lua): 'z' ZADD (score, member),
-- 'r' ZREM, 's' SADD, 't' SREM (member), 'h' HINCRBY (field, by), 'v' SET that keeps the
-- key's expiry (value).
local CLUSTER = false
local REMOTE_CALLS = {r = 'ZREM', s = 'SADD', t = 'SREM'}
local function remote(op, key, x, y)
  if op == 'z' or op == 'h' then
    redis.call(op == 'z' and 'ZADD' or 'HINCRBY', key, x, y)
  elseif op == 'v' then
    redis.call('SET', key, x, 'KEEPTTL')
  else
    redis.call(REMOTE_CALLS[op], key, x)
  end
end
-- Whether member M of the sorted set K (who blocks whom) is there; the string K's value.
local function has_member(key, member) return redis.call('ZSCORE', key, member) ~= false end
local function value_of(key) return redis.call('GET', key) end
-- A log entry for a counterpart's log, or the posts by language (see apply_logs.lua).
local log_remote

