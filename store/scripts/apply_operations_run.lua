-- The apply script, its part that runs operations, for both runs over a batch (apply_run.lua
-- on one server, apply_cluster_run.lua on a Redis Cluster).
-- Each operation's letter: how many arguments follow it, and what applies it. On a Cluster
-- the ids' epoch (a key of `{ids}`) is not taken: it is checked before a batch.
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
if CLUSTER then OPERATIONS.e = nil end

local outcomes = {applied = 0, duplicate = 0, unmatched = 0, late = 0}
-- Runs the operations in ARGV[from] to ARGV[to], counting their outcomes; returns an error
-- reply for an unknown letter (the caller returns it).
local function run_operations(from, to)
  local i = from
  while i <= to do
    local op = OPERATIONS[ARGV[i]]
    if op == nil then
      return redis.error_reply('Unknown operation "' .. tostring(ARGV[i]) .. '" at argument ' .. i)
    end
    local outcome = op[2](unpack(ARGV, i + 1, i + op[1]))
    outcomes[outcome] = outcomes[outcome] + 1
    i = i + 1 + op[1]
  end
end

-- Writes what the operations gathered: each key's log entries in one APPEND, then expiries.
local function write_gathered()
  for key, parts in pairs(appends) do
    local data = table.concat(parts)
    -- A week's expiry never changes: set it only when the append made the key.
    if redis.call('APPEND', key, data) == #data then expire_at(key, append_expiry[key]) end
  end
  for key, at in pairs(expiries) do redis.call('EXPIREAT', key, at) end
end
