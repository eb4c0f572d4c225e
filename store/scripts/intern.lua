-- Interns DIDs (ARGV, as layout.ts didKey() gives them): returns each one's id, allocating
-- ids for new DIDs. KEYS: the DID → id map (K.didToId), the id counter (K.nextId); a new
-- id also goes into the reverse map, K.idToDid of its bucket.
local out = {}
for i, did in ipairs(ARGV) do
  local id = redis.call('HGET', KEYS[1], did)
  if not id then
    id = redis.call('INCR', KEYS[2])
    redis.call('HSET', KEYS[1], did, id)
    redis.call('HSET', K.idToDid(math.floor(id / K.ID_BUCKET)), id % K.ID_BUCKET, did)
  end
  out[i] = tonumber(id)
end
return out
