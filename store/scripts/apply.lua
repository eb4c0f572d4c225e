-- Applies a batch of store operations and acknowledges their stream entries in one atomic
-- step (the argument format is described in apply_script.ts). K, the key names, comes
-- from layout.ts (withKeys). This is the script's first part: apply_script.ts puts the
-- others after it, in one script (apply_logs.lua, apply_blocks.lua, apply_records.lua,
-- apply_operations.lua, apply_backfill.lua, then apply_run.lua, which runs the batch's
-- operations); each part sees the locals of those before it.
local retention = tonumber(ARGV[1])
local memsecs = tonumber(ARGV[2])
local memhours = tonumber(ARGV[3])
local stream, group = ARGV[4], ARGV[5]
local nids = tonumber(ARGV[6])
-- Fencing: only the holder of the partition's lease may write (ARGV[7] key, ARGV[8] token).
if ARGV[7] ~= '' and redis.call('GET', ARGV[7]) ~= ARGV[8] then
  return {-1, 0, 0, 0, 0}
end

-- Whether an event at seq is newer than the one that set a profile's part (its seq field):
-- the profile, handle and account ops keep only the newest.
local function newer(pk, field, seq)
  return tonumber(redis.call('HGET', pk, field) or '-1') < seq
end
local expiries = {}
local function expire_at(key, at)
  local cur = expiries[key]
  if cur == nil or cur < at then expiries[key] = at end
end

-- e: the interning's epoch the batch's ids were read at (first, before any write): ids
-- read before some were reclaimed may stand for other accounts now, so the batch is refused
-- whole and its ids are read again (apply.ts).
local function ids_epoch(epoch)
  if (redis.call('GET', K.idEpoch) or '0') ~= epoch then
    error({err = 'IDS_CHANGED ids were reclaimed since this batch read its ids'})
  end
  return 'applied'
end

-- Redis's clock, for what expires by it (the record memory's spans, backfills' holds).
local clock = tonumber(redis.call('TIME')[1])
