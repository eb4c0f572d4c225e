-- The apply script (apply.lua), its part that keeps the record memory.

-- Kept in spans of 8 hours (a record lives 48 to 56 hours with the default memory) and
-- spread over buckets. A span's bucket count is fixed at its first record from the records
-- of the span before (about 80 a bucket, so each stays a compact listpack) and kept in
-- K.recordBuckets with the counts. On a Redis Cluster, a record operation comes with its
-- author's slot's tag T, and the buckets are per slot (that count / 16384 a slot, at least
-- one), so that the first round finds an author's records on its node. A bucket is made by
-- its first record, with its expiry (when the last of its records has been remembered for
-- the record memory's hours): opening a span writes one field, whatever its bucket count
-- (131,072 on the whole network).
local SPAN = 8
local buckets, remembered = {}, {}
local function buckets_of(span, create)
  local n = buckets[span]
  if n then return n end
  if CLUSTER then
    -- The batch's spans are opened before the call (cluster_apply.ts, open_spans.lua), and
    -- their counts given: a span not given holds nothing.
    if create then error('A span of the record memory that was not opened: ' .. span) end
    return nil
  end
  n = tonumber(redis.call('HGET', K.recordBuckets, span))
  if not n and create then
    local before = tonumber(redis.call('HGET', K.recordBuckets, 'n' .. (span - 1)) or '0')
    n = 64
    while n * 80 < before do n = n * 2 end
    redis.call('HSET', K.recordBuckets, span, n)
    redis.call('HDEL', K.recordBuckets, span - 30, 'n' .. (span - 30))
  end
  if n then buckets[span] = n end
  return n
end
local SLOTS = 16384
local function record_key(span, tag, x, create)
  local n = buckets_of(span, create)
  if not n then return nil end
  if tag == '' then return K.records(x % n, span) end
  return K.slotRecords(tag, span, x % math.ceil(n / SLOTS))
end
-- The record F (tag T, hash X), looked for in the spans the record memory covers; returns
-- its key, its value and the absolute hour it was made at.
local function find_record(f, tag, x, hour)
  local span = math.floor(hour / SPAN)
  for sp = span, span - math.ceil(memhours / SPAN) - 1, -1 do
    local key = record_key(sp, tag, x, false)
    if key then
      local v = redis.call('HGET', key, f)
      if v then return key, v, sp * SPAN + string.byte(v, 1) end
    end
  end
  return nil, nil, nil
end
-- A remembered record: one byte for its hour in the span, then its pairs; "x" once deleted.
local function take_back(a, v, made)
  apply_pairs(a, made, string.sub(v, 2), -1)
end
-- Remembers a record (only if new when only_new is set); false when it was there already.
local function remember(f, tag, x, hour, pairs, only_new)
  local span = math.floor(hour / SPAN)
  local key = record_key(span, tag, x, true)
  local value = string.char(hour % SPAN) .. pairs
  if only_new then
    if redis.call('HSETNX', key, f, value) == 0 then return false end
  else
    redis.call('HSET', key, f, value)
  end
  if CLUSTER then
    remote('h', K.recordBuckets, 'n' .. span, 1)
  else
    remembered[span] = (remembered[span] or 0) + 1
  end
  -- The bucket's first record made it (or made it again: an update's HDEL may have emptied
  -- it): it expires when the span's records have been remembered long enough, or at the end
  -- of this batch for a span already past that (an old event replayed).
  if redis.call('HLEN', key) == 1 then expire_at(key, (span + 1) * SPAN * 3600 + memsecs) end
  return true
end
-- A record operation's argument: X, H (uint32 BE each), the length of T (a byte), T, the
-- length of F (a byte), F, then P. Returns A (F starts with A's id), F, X, H, P and T.
local function record_op(arg)
  local x, hour, tlen = struct.unpack('>I4I4B', arg)
  local flen = string.byte(arg, 10 + tlen)
  local f = string.sub(arg, 11 + tlen, 10 + tlen + flen)
  return struct.unpack('>I4', f) % 268435456, f, x, hour, string.sub(arg, 11 + tlen + flen),
    string.sub(arg, 10, 9 + tlen)
end
