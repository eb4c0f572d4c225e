-- Interns DIDs (ARGV, as layout.ts didKey() gives them): returns each one's id, allocating
-- ids for new DIDs, then the interning's epoch. KEYS: the DID → id map (K.didToId), the id
-- counter (K.nextId); a new id is a reclaimed one (K.freeIds, oldest first) or the next
-- never given, and also goes into the reverse map, K.idToDid of its bucket. The epoch
-- (K.idEpoch) moves on whenever ids are reclaimed: ids read at an older one may name
-- another account now.
local out = {}
for i, did in ipairs(ARGV) do
  local id = redis.call('HGET', KEYS[1], did)
  if not id then
    id = redis.call('LPOP', K.freeIds) or redis.call('INCR', KEYS[2])
    redis.call('HSET', KEYS[1], did, id)
    redis.call('HSET', K.idToDid(math.floor(id / K.ID_BUCKET)), id % K.ID_BUCKET, did)
  end
  out[i] = tonumber(id)
end
out[#ARGV + 1] = tonumber(redis.call('GET', K.idEpoch) or '0')
return out
