-- The apply script on a Redis Cluster, first round (cluster_apply.ts): its part that keeps
-- what lands outside the slot of an operation's author (a counterpart's keys, the shared
-- ones) for the second round, the writes by slot (slot_writes.lua), instead of writing it.
-- It takes the place of apply_writes.lua, with the same functions.
local CLUSTER = true
-- The writes of the entry being applied, four values each (op, key, two arguments).
local out = {}
-- What the call knows of keys outside its slots: who blocks whom (the members asked for)
-- and opt codes, as read before the call, then as the batch's writes leave them.
local known = {}
local function text(v)
  if type(v) == 'number' then return string.format('%.17g', v) end
  return v
end
local function remote(op, key, x, y)
  x, y = text(x), text(y or '')
  local n = #out
  out[n + 1], out[n + 2], out[n + 3], out[n + 4] = op, key, x, y
  if op == 'z' then
    known[key .. '\0' .. y] = true
  elseif op == 'r' then
    known[key .. '\0' .. x] = false
  elseif op == 'v' then
    known[key] = x
  end
end
local function has_member(key, member)
  local v = known[key .. '\0' .. text(member)]
  if v == nil then error('Not read before the call: ' .. key .. ' ' .. text(member)) end
  return v
end
local function value_of(key)
  local v = known[key]
  if v == nil then error('Not read before the call: ' .. key) end
  return v
end
local function log_remote(key, e, wat) remote('a', key, e, wat) end
