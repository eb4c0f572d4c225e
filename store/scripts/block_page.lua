-- A page of an account's blocks, newest first, and how many blocks it has in each
-- direction; hidden accounts are left out of both (blocks.ts). ARGV: the account's id,
-- "by" (who blocks it) or "of" (whom it blocks), the most items, the most entries looked
-- at, and the cursor: the score of the last entry the page before looked at ("" for the
-- first page). Scores are minute * 2^28 + the other account's id, unique in each set (the
-- further records of a block, scored below 0, are not blocks of their own). Returns the
-- counts (blocked by, blocking), the score of the last entry looked at when entries are
-- left ("" otherwise), then the items as id, minute pairs.
local a, dir = ARGV[1], ARGV[2]
local limit, budget, cursor = tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
local ID = 268435456
local key = dir == 'by' and K.blockedBy(a) or K.blocking(a)

local items, looked = {}, 0
local max = cursor == '' and '+inf' or '(' .. cursor
local last, left = nil, false
while looked < budget do
  local got = redis.call('ZRANGE', key, max, 0, 'BYSCORE', 'REV', 'LIMIT', 0,
    math.min(budget - looked, limit + 1), 'WITHSCORES')
  if #got == 0 then break end
  for i = 2, #got, 2 do
    if #items >= 2 * limit or looked >= budget then
      left = true
      break
    end
    looked = looked + 1
    last = got[i]
    local score = tonumber(last)
    local other = score % ID
    if redis.call('SISMEMBER', K.hidden, other) == 0 then
      items[#items + 1] = other
      items[#items + 1] = math.floor(score / ID)
    end
  end
  if left then break end
  max = '(' .. last
end
if not left and last and looked >= budget then
  left = #redis.call('ZRANGE', key, '(' .. last, 0, 'BYSCORE', 'REV', 'LIMIT', 0, 1) > 0
end

-- Blocked by: the blockers, less the hidden ones. Blocking: each block's subject, looked
-- up, as the members are record keys.
local by = K.blockedBy(a)
local blocked_by = redis.call('ZCARD', by) - redis.call('ZINTERCARD', 2, by, K.hidden)
local blocking = 0
local scores = redis.call('ZRANGE', K.blocking(a), 0, '+inf', 'BYSCORE', 'WITHSCORES')
for i = 2, #scores, 2 do
  if redis.call('SISMEMBER', K.hidden, tonumber(scores[i]) % ID) == 0 then
    blocking = blocking + 1
  end
end

local out = {blocked_by, blocking, left and last or ''}
for i = 1, #items do out[#out + 1] = items[i] end
return out
