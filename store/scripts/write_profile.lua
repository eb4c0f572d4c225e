-- A profile checked against the identity network (profiles.ts), written unless the
-- firehose changed it since it was read. ARGV: id, the hseq read, the handle ("" to leave
-- it), the pseq read, "1" to write name and avatar, the name, the avatar, the DID (as
-- the interning keeps it). Returns how many parts changed: none when the id no longer
-- stands for the DID (it was reclaimed) or the account was let go (deleted, K.goneIds).
local id = ARGV[1]
local pk = K.profile(id)
local changed = 0
if redis.call('HGET', K.didToId, ARGV[8]) ~= id then return 0 end
-- A deleted account the sweep let go keeps only the mark of its deletion.
if redis.call('ZSCORE', K.goneIds, id) then return 0 end
if ARGV[3] ~= '' and (redis.call('HGET', pk, 'hseq') or '') == ARGV[2] then
  local old = redis.call('HGET', pk, 'handle')
  if old ~= ARGV[3] then
    if old then redis.call('ZREM', K.handles, old .. '\0' .. id) end
    redis.call('ZADD', K.handles, 0, ARGV[3] .. '\0' .. id)
    redis.call('HSET', pk, 'handle', ARGV[3])
    changed = changed + 1
  end
end
if ARGV[5] == '1' and (redis.call('HGET', pk, 'pseq') or '') == ARGV[4] then
  if redis.call('HGET', pk, 'name') ~= ARGV[6] or redis.call('HGET', pk, 'avatar') ~= ARGV[7] then
    redis.call('HSET', pk, 'name', ARGV[6], 'avatar', ARGV[7])
    changed = changed + 1
  end
end
return changed
