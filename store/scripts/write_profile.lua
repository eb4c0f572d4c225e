-- A profile checked against the identity network (profiles.ts), written unless the
-- firehose changed it since it was read. ARGV: id, the hseq read, the handle ("" to leave
-- it), the pseq read, "1" to write name and avatar, the name, the avatar, the DID (as
-- the interning keeps it). Returns how many parts changed: none when the id no longer
-- stands for the DID (it was reclaimed) or the account was let go (deleted, K.goneIds).
-- ARGV[9] "1": on a Redis Cluster (KEYS[1] the profile, for the routing), the script keeps
-- to the profile's slot: the interning was checked before, in its own, and the handle index
-- is written after (profiles.ts); it returns {changed, the handle it replaced ('' for none),
-- '1' when it wrote the handle, the profile's handle now ('' for none)}.
local id = ARGV[1]
local pk = K.profile(id)
local changed = 0
local cluster = ARGV[9] == '1'
if not cluster then
  if redis.call('HGET', K.didToId, ARGV[8]) ~= id then return 0 end
  -- A deleted account the sweep let go keeps only the mark of its deletion.
  if redis.call('ZSCORE', K.goneIds, id) then return 0 end
end
local replaced, moved = '', '0'
if ARGV[3] ~= '' and (redis.call('HGET', pk, 'hseq') or '') == ARGV[2] then
  local old = redis.call('HGET', pk, 'handle')
  if old ~= ARGV[3] then
    if not cluster then
      if old then redis.call('ZREM', K.handles, old .. '\0' .. id) end
      redis.call('ZADD', K.handles, 0, ARGV[3] .. '\0' .. id)
    end
    redis.call('HSET', pk, 'handle', ARGV[3])
    changed = changed + 1
    replaced, moved = old or '', '1'
  end
end
if ARGV[5] == '1' and (redis.call('HGET', pk, 'pseq') or '') == ARGV[4] then
  if redis.call('HGET', pk, 'name') ~= ARGV[6] or redis.call('HGET', pk, 'avatar') ~= ARGV[7] then
    redis.call('HSET', pk, 'name', ARGV[6], 'avatar', ARGV[7])
    changed = changed + 1
  end
end
if cluster then return {changed, replaced, moved, redis.call('HGET', pk, 'handle') or ''} end
return changed
