-- Ends the blocks of a deleted account that its deletion left (apply_blocks.lua puts it in
-- K.blocksEnding when it has more than one call's worth), at most ARGV[1] of them; follows
-- apply_blocks.lua in one script (apply_script.ts). Returns how many accounts still have
-- blocks to end.
local first = redis.call('ZRANGE', K.blocksEnding, 0, 0, 'WITHSCORES')
if first[1] then end_blocks(first[1], first[2], tonumber(ARGV[1])) end
return redis.call('ZCARD', K.blocksEnding)
