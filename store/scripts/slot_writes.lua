-- The writes of one batch of a stream partition that land in the hash slots one node
-- serves, each slot applying them once (slot_writes.ts). The script declares no keys: a
-- Redis Cluster node lets a script touch keys of several of its slots only so (and with
-- this flag), and refuses, with an error, any key of a slot it does not serve: one that
-- moved, or one that is moving and that the node does not hold (moved already, or not made
-- yet). So everything is read and checked before the first write: every key, every
-- argument, every watermark; and no write comes to a key this call deleted (see below).
-- A refusal then stops the call with nothing written, and the batch is sent again. (The
-- node's view of its slots holds while a script runs, if it runs for less than Redis's
-- busy-script time, 5 s: a batch of 1,000 likes takes some milliseconds, see
-- store/bench/bench_slot_writes.ts.) What the checks cannot see, a key of the wrong type
-- or a count that overflows, stops the call midway.
-- ARGV: the partition, the number of the batch's entries and their ids in order (the
-- last one the batch's last), then per slot: its watermarks' key (a hash in that slot:
-- field the partition, value the id of the last entry of that partition whose writes the
-- slot holds), its number of keys and the keys (all in that slot), its number of entries,
-- and per entry: its number among the batch's entries (from 1), its number of writes, and
-- per write: its op, its key's number among the slot's keys, and two arguments.
-- In each slot, an entry at or below the watermark was applied there already (the batch
-- came again after a stop, whole or cut elsewhere): its writes are skipped. The watermark
-- then moves to the batch's last entry: every write of the batch that lands in the slot is
-- in this call.
-- Ops: 'a' APPEND (the bytes, and the EXPIREAT given to the key when the call's appends to
-- it make it, from the first of them, '' for none; a key's appends are joined into one
-- APPEND), 'z' ZADD (score, member), 'r' ZREM (member), 's' SADD (member), 't' SREM
-- (member), 'h' HINCRBY (field, by), 'v' SET that keeps the key's expiry, of a key that
-- is there (value; a key's last one counts).
-- Returns how many writes were applied and how many skipped.

local CALLS = {z = 'ZADD', r = 'ZREM', s = 'SADD', t = 'SREM', h = 'HINCRBY', v = 'SET'}
local partition = ARGV[1]
local n = #ARGV
local function count_at(i)
  local c = tonumber(ARGV[i])
  if not c or c < 0 or c % 1 ~= 0 then error('Not a count at argument ' .. i) end
  return c
end
local function need(i)
  if i > n then error('The writes end early (argument ' .. i .. ')') end
end

-- The batch's entries, in order.
local nentries = count_at(2)
if nentries < 1 then error('A batch without entries') end
need(2 + nentries)
local ids = {}
for e = 1, nentries do
  ids[e] = id_of(ARGV[2 + e])
  if e > 1 and not after(ids[e], ids[e - 1]) then
    error('Entry ' .. ARGV[2 + e] .. ' is out of order')
  end
end
local last = ARGV[2 + nentries]
-- How many of the batch's entries are at or below a watermark.
local function applied_below(mark)
  if not mark then return 0 end
  local m = id_of(mark)
  local lo, hi = 0, nentries
  while lo < hi do
    local mid = math.floor((lo + hi + 1) / 2)
    if after(ids[mid], m) then hi = mid - 1 else lo = mid end
  end
  return lo
end

-- Read and checked, slot by slot: nothing is written yet. A slot's writes are kept flat,
-- four values each (op, key, two arguments).
local slots = {}
local checked_expiry = {}
local i = 3 + nentries
while i <= n do
  need(i + 1)
  local slot = {marks = ARGV[i], keys = {}, writes = {}, skipped = 0}
  local nkeys = count_at(i + 1)
  need(i + 1 + nkeys)
  for k = 1, nkeys do slot.keys[k] = ARGV[i + 1 + k] end
  i = i + 2 + nkeys
  -- A key of a slot this node does not serve stops the call here.
  local mark = redis.call('HGET', slot.marks, partition)
  slot.mark = mark
  local done = applied_below(mark)
  for _, key in ipairs(slot.keys) do redis.call('EXISTS', key) end
  need(i)
  local entries = count_at(i)
  i = i + 1
  local previous = 0
  local writes = slot.writes
  for _ = 1, entries do
    need(i + 1)
    local e = count_at(i)
    if e <= previous or e > nentries then error('Entry number ' .. ARGV[i] .. ' is out of order') end
    previous = e
    local fresh = e > done
    local count = count_at(i + 1)
    i = i + 2
    need(i + 4 * count - 1)
    for _ = 1, count do
      local op, key, x, y = ARGV[i], slot.keys[tonumber(ARGV[i + 1])], ARGV[i + 2], ARGV[i + 3]
      if key == nil then
        error('Write ' .. op .. ' names no key of its slot (argument ' .. (i + 1) .. ')')
      end
      if op == 'a' then
        if y ~= '' and not checked_expiry[y] then
          if not string.match(y, '^[1-9]%d*$') or #y > 16 then
            error('Not an expiry: "' .. y .. '"')
          end
          checked_expiry[y] = true
        end
      elseif op == 'z' then
        local score = tonumber(x)
        if not score or score ~= score or score == math.huge or score == -math.huge
          or not string.match(x, '^%-?%d[%d%.eE%+%-]*$') then
          error('Not a score: "' .. x .. '"')
        end
      elseif op == 'h' then
        if not (y == '0' or string.match(y, '^%-?[1-9]%d*$')) or #y > 17 then
          error('Not an increment: "' .. y .. '"')
        end
      elseif not CALLS[op] then
        error('Unknown write "' .. tostring(op) .. '"')
      end
      if fresh then
        local w = #writes
        writes[w + 1], writes[w + 2], writes[w + 3], writes[w + 4] = op, key, x, y
      else
        slot.skipped = slot.skipped + 1
      end
      i = i + 4
    end
  end
  slots[#slots + 1] = slot
end

local applied, skipped = 0, 0
for _, slot in ipairs(slots) do
  -- Sets and sorted sets: only each member's last write counts, and the adds go first. A
  -- key is emptied (deleted) only by its last writes, so no write of this call comes to a
  -- key it deleted itself, which a node moving the slot would refuse midway (the key no
  -- longer there). Then the counts, in order; then each key's appends as one APPEND.
  local members, member_order = {}, {}
  local appends, order, expire = {}, {}, {}
  local values, value_order = {}, {}
  local writes = slot.writes
  for w = 1, #writes, 4 do
    local op, key, x, y = writes[w], writes[w + 1], writes[w + 2], writes[w + 3]
    if op == 'a' then
      local parts = appends[key]
      if not parts then
        parts = {}
        appends[key] = parts
        order[#order + 1] = key
        expire[key] = y
      end
      parts[#parts + 1] = x
    elseif op == 'v' then
      if values[key] == nil then value_order[#value_order + 1] = key end
      values[key] = x
    elseif op ~= 'h' then
      local of_key = members[key]
      if not of_key then
        of_key = {}
        members[key] = of_key
        member_order[#member_order + 1] = key
      end
      -- z: score and member; r, s, t: member.
      local member = op == 'z' and y or x
      if of_key[member] == nil then of_key[#of_key + 1] = member end
      of_key[member] = {op, x}
    end
  end
  for _, key in ipairs(member_order) do
    for _, member in ipairs(members[key]) do
      local last_write = members[key][member]
      if last_write[1] == 'z' then redis.call('ZADD', key, last_write[2], member)
      elseif last_write[1] == 's' then redis.call('SADD', key, member) end
    end
  end
  -- Counts summed per key and field first: one HINCRBY each.
  local counts, count_order = {}, {}
  for w = 1, #writes, 4 do
    if writes[w] == 'h' then
      local at = writes[w + 1] .. '\0' .. writes[w + 2]
      if counts[at] == nil then
        counts[at] = 0
        count_order[#count_order + 1] = {writes[w + 1], writes[w + 2], at}
      end
      counts[at] = counts[at] + tonumber(writes[w + 3])
    end
  end
  for _, c in ipairs(count_order) do
    redis.call('HINCRBY', c[1], c[2], string.format('%d', counts[c[3]]))
  end
  for _, key in ipairs(order) do
    local data = table.concat(appends[key])
    if #data > 0 and redis.call('APPEND', key, data) == #data and expire[key] ~= '' then
      redis.call('EXPIREAT', key, expire[key])
    end
  end
  for _, key in ipairs(value_order) do redis.call('SET', key, values[key], 'KEEPTTL', 'XX') end
  for _, key in ipairs(member_order) do
    for _, member in ipairs(members[key]) do
      local last_write = members[key][member]
      if last_write[1] == 'r' then redis.call('ZREM', key, member)
      elseif last_write[1] == 't' then redis.call('SREM', key, member) end
    end
  end
  -- Written even when it stays, so that WAIT on the call's connection covers what this
  -- master holds of the batch (see apply_cluster_run.lua).
  if not slot.mark or after(ids[nentries], id_of(slot.mark)) then
    redis.call('HSET', slot.marks, partition, last)
  else
    redis.call('HSET', slot.marks, partition, slot.mark)
  end
  applied = applied + #writes / 4
  skipped = skipped + slot.skipped
end
return {applied, skipped}
