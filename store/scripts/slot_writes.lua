-- The writes of one batch of a stream partition that land in one hash slot, applied once
-- (slot_writes.ts). KEYS[1]: the slot's watermarks (a hash: field the partition, value
-- the id of the last entry of that partition whose writes this slot holds); then the keys
-- written, all in that slot. ARGV: the partition, the id of the batch's last entry, then
-- per entry: its id, its number of writes, and per write: its op, its key's index in
-- KEYS, and two arguments.
-- An entry at or below the watermark was applied here already (the batch came again after
-- a stop, whole or cut elsewhere): its writes are skipped. The watermark then moves to the
-- batch's last entry: every write of the batch that lands in this slot is in this call.
-- Ops: 'a' APPEND (first argument the bytes, second the EXPIREAT given to the key when the
-- call's appends make it, '' for none: the first one given counts; a key's appends are
-- joined into one APPEND), 'z' ZADD (score, member), 'r' ZREM (member), 's' SADD
-- (member), 't' SREM (member), 'h' HINCRBY (field, by).
-- Returns how many writes were applied and how many skipped.

-- Stream entry ids ("<ms>-<seq>") compared as numbers.
local function id_of(text)
  local ms, seq = string.match(text, '^(%d+)%-(%d+)$')
  if not ms then error('Not a stream entry id: "' .. tostring(text) .. '"') end
  return tonumber(ms), tonumber(seq)
end
local function after(a_ms, a_seq, b_ms, b_seq)
  return a_ms > b_ms or (a_ms == b_ms and a_seq > b_seq)
end

local partition, last = ARGV[1], ARGV[2]
local last_ms, last_seq = id_of(last)
local mark = redis.call('HGET', KEYS[1], partition)
local mark_ms, mark_seq = -1, -1
if mark then mark_ms, mark_seq = id_of(mark) end

local CALLS = {z = 'ZADD', r = 'ZREM', s = 'SADD', t = 'SREM', h = 'HINCRBY'}
-- Everything is read and checked before the first write: an error stops the call with
-- nothing written, so that sending the batch again stays exact.
local applied, skipped = 0, 0
local writes = {}
-- A key's appends are made one APPEND, in order, after the other writes.
local appends, append_order, expire = {}, {}, {}
local i, n = 3, #ARGV
while i <= n do
  local e_ms, e_seq = id_of(ARGV[i])
  local count = tonumber(ARGV[i + 1])
  if not count or i + 1 + 4 * count > n then error('Bad write count at argument ' .. (i + 1)) end
  local fresh = after(e_ms, e_seq, mark_ms, mark_seq)
  i = i + 2
  for _ = 1, count do
    local op, key, x, y = ARGV[i], KEYS[tonumber(ARGV[i + 1])], ARGV[i + 2], ARGV[i + 3]
    if key == nil or key == KEYS[1] then
      error('Write ' .. op .. ' names no key of this call (argument ' .. (i + 1) .. ')')
    end
    if op ~= 'a' and not CALLS[op] then error('Unknown write "' .. tostring(op) .. '"') end
    if not fresh then
      skipped = skipped + 1
    else
      if op == 'a' then
        local parts = appends[key]
        if not parts then
          parts = {}
          appends[key] = parts
          append_order[#append_order + 1] = key
        end
        parts[#parts + 1] = x
        -- The first append that names an expiry would have made the key.
        if y ~= '' and not expire[key] then expire[key] = y end
      elseif op == 'r' or op == 's' or op == 't' then
        writes[#writes + 1] = {CALLS[op], key, x}
      else
        writes[#writes + 1] = {CALLS[op], key, x, y}
      end
      applied = applied + 1
    end
    i = i + 4
  end
end
for _, w in ipairs(writes) do redis.call(unpack(w)) end
for _, key in ipairs(append_order) do
  local data = table.concat(appends[key])
  if redis.call('APPEND', key, data) == #data and expire[key] then
    redis.call('EXPIREAT', key, expire[key])
  end
end
if after(last_ms, last_seq, mark_ms, mark_seq) then
  redis.call('HSET', KEYS[1], partition, last)
end
return {applied, skipped}
