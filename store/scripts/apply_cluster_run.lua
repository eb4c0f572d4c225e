-- The apply script on a Redis Cluster, first round, its last part (cluster_apply.ts): one
-- call per master applies the operations of the batch's authors whose slots it serves,
-- writes what lands in those slots (their logs, sets, blocks, profiles and records), and
-- returns what lands elsewhere, per entry, for the second round (slot_writes.lua).
-- Exactly once per slot: a slot keeps, per stream partition, the last entry it applied
-- (field 'd' .. partition of its K.slotWatermarks) and, beside it, what its entries from
-- the batch's first on returned (field 'j' .. partition, MessagePack); an entry at or
-- below the mark is not applied again, and what it returned is returned again, so that a
-- batch sent again after a stop gets the same second round whoever sends it.
-- A node refuses a key of a slot it does not serve, or of one being moved that it does not
-- hold: each slot is asked for first with a key that never exists (K.slotProbe), which a
-- node only answers while it serves the whole slot; so a call either writes or refuses
-- before its first write.
-- ARGV from 9 (1 to 8 as apply.lua reads them, without stream, lease or entry ids): the
-- partition, the batch's first entry id (what is below it was acknowledged) and its last,
-- the spans of the record memory (a count, then per span its number and bucket count; a
-- span not given holds nothing), what was read before the call (a count, then per read: a
-- key, a member ('' for a string's value) and what was read: '1' or '0' for a member, the
-- value or '' for a string), then per slot: its tag, its number of entries, and per
-- entry: its id, how many arguments its operations take, then the operations (apply.lua's,
-- without 'e', 'm' and 'b').
-- Returns {applied, duplicate, unmatched, late, writes}: the outcomes of the operations
-- applied now, and per entry with writes elsewhere (new or returned again) its id and its
-- writes, four values each.
local partition, floor, last = ARGV[9], id_of(ARGV[10]), ARGV[11]
local done_field, journal_field = 'd' .. partition, 'j' .. partition
local i = 12
local function count_at(k)
  local c = tonumber(ARGV[k])
  if not c or c < 0 or c % 1 ~= 0 then error('Not a count at argument ' .. k) end
  return c
end
for _ = 1, count_at(i) do
  buckets[tonumber(ARGV[i + 1])] = tonumber(ARGV[i + 2])
  i = i + 2
end
i = i + 1
for _ = 1, count_at(i) do
  local key, member, value = ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  if member == '' then known[key] = value ~= '' and value or false
  else known[key .. '\0' .. member] = value == '1' end
  i = i + 3
end
i = i + 1

-- Every slot first: served here whole, its mark and what it returned. Nothing is written yet.
local slots = {}
while i <= #ARGV do
  local tag = ARGV[i]
  local probe = redis.pcall('EXISTS', K.slotProbe(tag))
  if type(probe) == 'table' and probe.err then
    return redis.error_reply('UNSERVED slot of {' .. tag .. '}: ' .. probe.err)
  end
  local marks = K.slotWatermarks(tag)
  local mark, kept = unpack(redis.call('HMGET', marks, done_field, journal_field))
  local slot = {marks = marks, mark = mark and id_of(mark), mark_text = mark, entries = {},
    returned = {}, had = kept ~= false}
  if kept then
    for _, e in ipairs(cmsgpack.unpack(kept)) do
      -- What was acknowledged (below the batch's first entry) is dropped.
      if not after(floor, id_of(e[1])) then slot.returned[e[1]] = e[2] else slot.changed = true end
    end
  end
  local n = count_at(i + 1)
  i = i + 2
  for _ = 1, n do
    local nargs = count_at(i + 1)
    slot.entries[#slot.entries + 1] = {id = ARGV[i], from = i + 2, to = i + 1 + nargs}
    i = i + 2 + nargs
  end
  slots[#slots + 1] = slot
end

local writes = {}
for _, slot in ipairs(slots) do
  for _, e in ipairs(slot.entries) do
    if slot.mark and not after(id_of(e.id), slot.mark) then
      -- Applied here before: what it returned then, known again as it left the keys.
      local again = slot.returned[e.id]
      if again then
        out = {}
        for w = 1, #again, 4 do remote(again[w], again[w + 1], again[w + 2], again[w + 3]) end
        writes[#writes + 1] = {e.id, out}
      end
    else
      out = {}
      local failed = run_operations(e.from, e.to)
      if failed then return failed end
      if #out > 0 then
        slot.returned[e.id] = out
        slot.changed = true
        writes[#writes + 1] = {e.id, out}
      end
    end
  end
end

write_gathered()
-- Each slot's mark and, when it changed, what its entries returned, in one write (none
-- left: the field goes). The mark is written even when it stays: a call always writes, so
-- that WAIT on its connection covers whatever this master holds of the batch (it waits for
-- the connection's last write, and a call sent again on a new one may apply nothing new).
for _, slot in ipairs(slots) do
  local fields = {done_field, last}
  if slot.mark and not after(id_of(last), slot.mark) then fields[2] = slot.mark_text end
  if slot.changed then
    local kept = {}
    for id, w in pairs(slot.returned) do kept[#kept + 1] = {id, w} end
    if #kept > 0 then
      fields[#fields + 1], fields[#fields + 2] = journal_field, cmsgpack.pack(kept)
    elseif slot.had then
      redis.call('HDEL', slot.marks, journal_field)
    end
  end
  redis.call('HSET', slot.marks, unpack(fields))
end
return {outcomes.applied, outcomes.duplicate, outcomes.unmatched, outcomes.late, writes}
