-- The apply script (apply.lua), its last part: runs the batch's operations, then writes what
-- they gathered and acknowledges the batch's entries.
-- Each operation's letter: how many arguments follow it, and what applies it.
local OPERATIONS = {
  e = {1, ids_epoch},
  c = {1, create},
  u = {1, update},
  d = {1, delete_live},
  p = {4, profile},
  h = {3, identity},
  s = {5, account},
  o = {3, opt_code},
  m = {8, repo_part},
  b = {2, backfill},
}

local outcomes = {applied = 0, duplicate = 0, unmatched = 0, late = 0}
local i, n = 9 + nids, #ARGV
while i <= n do
  local op = OPERATIONS[ARGV[i]]
  if op == nil then
    return redis.error_reply('Unknown operation "' .. tostring(ARGV[i]) .. '" at argument ' .. i)
  end
  local outcome = op[2](unpack(ARGV, i + 1, i + op[1]))
  outcomes[outcome] = outcomes[outcome] + 1
  i = i + 1 + op[1]
end

for key, parts in pairs(appends) do
  local data = table.concat(parts)
  -- A week's expiry never changes: set it only when the append made the key.
  if redis.call('APPEND', key, data) == #data then expire_at(key, append_expiry[key]) end
end
for key, at in pairs(expiries) do redis.call('EXPIREAT', key, at) end
for span, count in pairs(remembered) do redis.call('HINCRBY', K.recordBuckets, 'n' .. span, count) end
if nids > 0 then redis.call('XACK', stream, group, unpack(ARGV, 9, 8 + nids)) end
-- Last: how many deleted accounts have blocks left to end (end_blocks.lua), whichever batch
-- left them.
return {outcomes.applied, outcomes.duplicate, outcomes.unmatched, outcomes.late,
  redis.call('ZCARD', K.blocksEnding)}
