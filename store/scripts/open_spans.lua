-- Opens spans of the record memory before a batch is applied on a Redis Cluster
-- (cluster_apply.ts): after apply_writes.lua and apply_records.lua, whose buckets_of() fixes
-- a span's bucket count at its first record. KEYS[1]: K.recordBuckets (for the Cluster's
-- routing). ARGV: the number of spans to open, those spans, then spans only to read.
-- Returns each span's bucket count in that order (0 for a span not open).
local counts = {}
local nopen = tonumber(ARGV[1])
for k = 2, #ARGV do counts[#counts + 1] = buckets_of(tonumber(ARGV[k]), k <= nopen + 1) or 0 end
return counts
