-- The last step of a roll-up in steps (rollup.ts), O(1) but for what was appended since
-- the log was read: swaps the staged log KEYS[4] and digest KEYS[5] in for the log KEYS[1]
-- and its digest KEYS[2], if the run still holds the log's lock KEYS[3] (its token
-- ARGV[1]) and the log and digest are as read. Holding the lock, only the indexer writes
-- the log, and only by appending: the log is as read when it is at least ARGV[2] bytes
-- long and still has the ARGV[3] and ARGV[4] it had at its start and before byte ARGV[2]
-- (a check of the length and a few bytes instead of a hash of megabytes); the digest
-- when its index is still ARGV[5] ("" for none). ARGV[6] is 1 when a log was staged (what
-- was appended since the read goes after it), ARGV[7] the staged digest's field count, or
-- -1 when the digest stays. The old digest goes to KEYS[6], expiring soon, for the caller
-- to unlink (a hash of many fields is freed apart, not in the script), and the log's
-- expiry is kept, the digest's set to it. Returns the log's new length; -1 when the log,
-- the digest or the staging changed (read again and stage anew), -2 when the lock was
-- lost (another run may have rolled the log up).
if redis.call('GET', KEYS[3]) ~= ARGV[1] then return -2 end
local n = tonumber(ARGV[2])
local len = redis.call('STRLEN', KEYS[1])
if len < n or n == 0 then return -1 end
if redis.call('GETRANGE', KEYS[1], 0, #ARGV[3] - 1) ~= ARGV[3] then return -1 end
if redis.call('GETRANGE', KEYS[1], n - #ARGV[4], n - 1) ~= ARGV[4] then return -1 end
if (redis.call('HGET', KEYS[2], 'x') or '') ~= ARGV[5] then return -1 end
local staged, fields = ARGV[6] == '1', tonumber(ARGV[7])
if staged and redis.call('EXISTS', KEYS[4]) == 0 then return -1 end
if fields >= 0 and redis.call('HLEN', KEYS[5]) ~= fields then return -1 end
local at = redis.call('PEXPIRETIME', KEYS[1])
local function expiring(key)
  if at > 0 then redis.call('PEXPIREAT', key, at) else redis.call('PERSIST', key) end
end
local function retire()
  if redis.call('EXISTS', KEYS[2]) == 1 then
    redis.call('RENAME', KEYS[2], KEYS[6])
    redis.call('PEXPIRE', KEYS[6], 60000)
  end
end
redis.call('DEL', KEYS[3])
if staged then
  if len > n then redis.call('APPEND', KEYS[4], redis.call('GETRANGE', KEYS[1], n, -1)) end
  len = redis.call('STRLEN', KEYS[4])
  if len == 0 then
    redis.call('DEL', KEYS[1], KEYS[4])
    redis.call('UNLINK', KEYS[5])
    retire()
    return 0
  end
  redis.call('RENAME', KEYS[4], KEYS[1])
  expiring(KEYS[1])
end
if fields >= 0 then
  retire()
  redis.call('RENAME', KEYS[5], KEYS[2])
  expiring(KEYS[2])
end
return len
