-- The apply script (apply.lua), its last part: runs the batch's operations
-- (apply_operations_run.lua), then writes what they gathered and acknowledges the batch's
-- entries.
local failed = run_operations(9 + nids, #ARGV)
if failed then return failed end
write_gathered()
for span, count in pairs(remembered) do redis.call('HINCRBY', K.recordBuckets, 'n' .. span, count) end
if nids > 0 then redis.call('XACK', stream, group, unpack(ARGV, 9, 8 + nids)) end
-- Last: how many deleted accounts have blocks left to end (end_blocks.lua), whichever batch
-- left them.
return {outcomes.applied, outcomes.duplicate, outcomes.unmatched, outcomes.late,
  redis.call('ZCARD', K.blocksEnding)}
