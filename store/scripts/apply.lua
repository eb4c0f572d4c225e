-- Applies a batch of store operations and acknowledges their stream entries in one atomic
-- step (the argument format is described in apply_script.ts). K, the key names, comes
-- from layout.ts (withKeys).
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

-- Logs ----------------------------------------------------------------------------------

-- One log entry, 40 bits: the counterpart's id * 4096 + received * 2048 + undo * 1024
-- + (type - 1) * 168 + hour of the week.
local function entry(id, received, t, how, sign)
  local v = id * 4096 + received * 2048 + (sign < 0 and 1024 or 0) + (t - 1) * 168 + how
  local hi = math.floor(v / 4294967296)
  return struct.pack('>BI4', hi, v - hi * 4294967296)
end
-- Log entries are gathered per key and appended once per key at the end of the batch
-- (a popular account gets many in one batch; their order in a log does not matter).
local appends, append_expiry = {}, {}
local function log_entry(key, e, wat)
  local parts = appends[key]
  if parts == nil then
    parts = {}
    appends[key] = parts
    append_expiry[key] = wat
  end
  parts[#parts + 1] = e
end
local logkeys = {}
local function log_key(id, week)
  local byid = logkeys[week]
  if byid == nil then byid = {}; logkeys[week] = byid end
  local key = byid[id]
  if key == nil then key = K.log(id, week); byid[id] = key end
  return key
end
-- A post's language in the hour's K.languagePosts, 48 bits: (author id * 2^15 + language
-- code) * 2 + undo.
local function language_entry(a, lang, sign)
  local v = (a * 32768 + lang) * 2 + (sign < 0 and 1 or 0)
  local hi = math.floor(v / 4294967296)
  return struct.pack('>HI4', hi, v - hi * 4294967296)
end
-- Adds (sign 1) or takes back (sign -1) a record's pairs made by account a at an hour:
-- interactions and blocks in both accounts' logs, follows and blocks in a's set, a post's
-- languages in the hour's posts by language.
local function apply_pairs(a, hour, pairs, sign)
  local day = math.floor(hour / 24)
  local week = math.floor(hour / 168)
  local how = hour % 168
  local at = (day + 1) * 86400 + retention
  local wat = (week + 1) * 604800 + retention
  local ak = log_key(a, week)
  for k = 1, #pairs, 4 do
    local v = struct.unpack('>I4', pairs, k)
    local t = math.floor(v / 268435456)
    local s = v - t * 268435456
    if t == 9 then
      log_entry(K.languagePosts(hour), language_entry(a, s, sign), (hour + 1) * 3600 + retention)
      -- The posts by language name a now: its id is not reclaimed (posters.ts).
      if sign > 0 then redis.call('SREM', K.retiringIds, a, -a) end
    elseif t <= 6 then
      local sk = log_key(s, week)
      log_entry(ak, entry(s, 0, t, how, sign), wat)
      log_entry(sk, entry(a, 1, t, how, sign), wat)
    end
    if t == 6 or t == 7 then
      -- One set per account: whom it follows as ids, whom it blocks as negative ids.
      local set, m = K.graph(a), t == 6 and -s or s
      if sign > 0 then redis.call('SADD', set, m); expire_at(set, at) else redis.call('SREM', set, m) end
      -- A set names s now: its id is not reclaimed (reclaim_ids.lua).
      if sign > 0 then redis.call('SREM', K.retiringIds, s, -s) end
    end
  end
end

-- Blocks as they stand ------------------------------------------------------------------

-- Whom each account blocks (K.blocking: one member per block record) and who blocks it
-- (K.blockedBy), at any age: a delete finds its block by the record key.
local BLOCK = 4 -- the block collection's code in a record's field (RECORD_COLLECTION)
local ID = 268435456 -- 2^28: ids fit below it; a block's score is minute * ID + the other's id
local EXTRA = 1048576 -- 2^20: a further record's score is -(subject * EXTRA + hour)
local EPOCH_HOUR = 464592 -- 2023-01-01T00:00Z: blocks' minutes count from it
local MINUTES = 33554432 -- 2^25 minutes from the epoch (63 years): a score stays below 2^53
-- The record key of a block record's field F, or nil for any other collection.
local function block_key(f)
  if math.floor(struct.unpack('>I4', f) / ID) ~= BLOCK then return nil end
  return string.sub(f, 5)
end
-- The subject of a block record's pairs (its one pair of type 6) and the minute in its hour
-- (a pair of type 8); nil for a self-block.
local function block_subject(pairs)
  local s, m = nil, 0
  for k = 1, #pairs, 4 do
    local v = struct.unpack('>I4', pairs, k)
    local t = math.floor(v / ID)
    if t == 6 then s = v % ID elseif t == 8 then m = math.min(v % ID, 59) end
  end
  return s, m
end
-- The subject of a block record's score in K.blocking.
local function subject_of(score)
  if score >= 0 then return score % ID end
  return math.floor(-score / EXTRA)
end
-- A's block record R of S, made at a minute of an hour: A blocks S from then, unless it
-- does already (then R is kept as a further record of that block).
local function block_add(a, r, s, hour, minute)
  local out = K.blocking(a)
  if redis.call('ZSCORE', out, r) then return end
  local by = K.blockedBy(s)
  if redis.call('ZSCORE', by, a) then
    redis.call('ZADD', out, -(s * EXTRA + hour), r)
  else
    local at = math.max(0, math.min(MINUTES - 1, (hour - EPOCH_HOUR) * 60 + minute)) * ID
    redis.call('ZADD', out, at + s, r)
    redis.call('ZADD', by, at + a, a)
  end
end
-- A's block record R gone: the block ends unless a further record of A's blocks S too,
-- which then takes its place (the block stands since the first). Returns whether A had R.
local function block_remove(a, r)
  local out = K.blocking(a)
  local score = tonumber(redis.call('ZSCORE', out, r))
  if not score then return false end
  redis.call('ZREM', out, r)
  if score < 0 then return true end
  local s = score % ID
  local further = redis.call('ZRANGEBYSCORE', out, -(s * EXTRA + EXTRA - 1), -(s * EXTRA),
    'LIMIT', 0, 1)
  if #further > 0 then
    redis.call('ZADD', out, score, further[1])
  else
    redis.call('ZREM', K.blockedBy(s), a)
  end
  return true
end
-- A deleted: its records are gone, so its blocks end; who blocked it is dropped with it
-- (their records stand: their lists keep it, and answers leave hidden accounts out).
local function blocks_of_deleted(a)
  local out = K.blocking(a)
  local scores = redis.call('ZRANGEBYSCORE', out, 0, '+inf', 'WITHSCORES')
  for i = 2, #scores, 2 do redis.call('ZREM', K.blockedBy(tonumber(scores[i]) % ID), a) end
  redis.call('UNLINK', out, K.blockedBy(a))
end

-- The record memory ------------------------------------------------------------------------

-- Kept in spans of 8 hours (a record lives 48 to 56 hours with the default memory) and
-- spread over buckets. A span's bucket count is fixed at its first record from the records
-- of the span before (about 80 a bucket, so each stays a compact listpack); the counts are
-- kept in K.recordBuckets too.
local SPAN = 8
local clock = tonumber(redis.call('TIME')[1])
local buckets, remembered = {}, {}
local function buckets_of(span, create)
  local n = buckets[span]
  if n then return n end
  n = tonumber(redis.call('HGET', K.recordBuckets, span))
  if not n and create then
    local before = tonumber(redis.call('HGET', K.recordBuckets, 'n' .. (span - 1)) or '0')
    n = 64
    while n * 80 < before do n = n * 2 end
    redis.call('HSET', K.recordBuckets, span, n)
    redis.call('HDEL', K.recordBuckets, span - 30, 'n' .. (span - 30))
    -- The span's buckets are made now with their expiry, and an empty field that keeps
    -- each one alive until then, so that remembering a record needs no EXPIREAT.
    local at = (span + 1) * SPAN * 3600 + memsecs
    for b = 0, n - 1 do
      local key = K.records(b, span)
      redis.call('HSET', key, '', '')
      redis.call('EXPIREAT', key, at)
    end
  end
  if n then buckets[span] = n end
  return n
end
local function record_key(span, x, create)
  local n = buckets_of(span, create)
  if not n then return nil end
  return K.records(x % n, span)
end
-- The record F, looked for in the spans the record memory covers; returns its key, its
-- value and the absolute hour it was made at.
local function find_record(f, x, hour)
  local span = math.floor(hour / SPAN)
  for sp = span, span - math.ceil(memhours / SPAN) - 1, -1 do
    local key = record_key(sp, x, false)
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
local function remember(f, x, hour, pairs, only_new)
  local span = math.floor(hour / SPAN)
  local key = record_key(span, x, true)
  local value = string.char(hour % SPAN) .. pairs
  if only_new then
    if redis.call('HSETNX', key, f, value) == 0 then return false end
  else
    redis.call('HSET', key, f, value)
  end
  remembered[span] = (remembered[span] or 0) + 1
  -- A span already past its expiry (an old event replayed) is not kept beyond this batch.
  local at = (span + 1) * SPAN * 3600 + memsecs
  if at <= clock then expire_at(key, at) end
  return true
end
-- A record operation's argument: X, H (uint32 BE each), the length of F (a byte), F, then P.
-- Returns A (F starts with A's id), F, X, H and P.
local function record_op(arg)
  local x, hour, flen = struct.unpack('>I4I4B', arg)
  local f = string.sub(arg, 10, 9 + flen)
  return struct.unpack('>I4', f) % 268435456, f, x, hour, string.sub(arg, 10 + flen)
end

-- The operations: each takes its arguments and says what came of it ----------------------

-- c: a record created.
local function create(arg)
  local a, f, x, hour, pairs = record_op(arg)
  if not remember(f, x, hour, pairs, true) then return 'duplicate' end
  apply_pairs(a, hour, pairs, 1)
  local r = block_key(f)
  if r then
    local s, minute = block_subject(pairs)
    if s then block_add(a, r, s, hour, minute) end
  end
  return 'applied'
end

-- u: a record updated: what its last version added is taken back, its new pairs added.
local function update(arg)
  local a, f, x, hour, pairs = record_op(arg)
  local key, v, made = find_record(f, x, hour)
  if v == 'x' then return 'duplicate' end
  if v then take_back(a, v, made); redis.call('HDEL', key, f) end
  remember(f, x, hour, pairs, false)
  apply_pairs(a, hour, pairs, 1)
  local r = block_key(f)
  if r then
    -- A block that names a new subject ends and another starts; the same subject stays.
    local s, minute = block_subject(pairs)
    local was = tonumber(redis.call('ZSCORE', K.blocking(a), r))
    if not was or s ~= subject_of(was) then
      block_remove(a, r)
      if s then block_add(a, r, s, hour, minute) end
    end
  end
  return 'applied'
end

-- d: a record deleted: what it added is taken back while it is remembered.
local function delete(arg)
  local a, f, x, hour = record_op(arg)
  -- A block ends at any age: its record is kept while it stands.
  local r = block_key(f)
  local ended = r and block_remove(a, r)
  local key, v, made = find_record(f, x, hour)
  if not v then return ended and 'applied' or 'unmatched' end
  if v == 'x' then return 'duplicate' end
  local outcome = 'late'
  if hour - made <= memhours then
    take_back(a, v, made)
    outcome = 'applied'
  end
  -- A tombstone, so that a create delivered again is not counted again.
  redis.call('HSET', key, f, 'x')
  return outcome
end

-- p: a profile: display name and avatar.
local function profile(a, seq, name, avatar)
  local pk = K.profile(a)
  seq = tonumber(seq)
  if not newer(pk, 'pseq', seq) then return 'duplicate' end
  redis.call('HSET', pk, 'pseq', seq, 'name', name, 'avatar', avatar)
  return 'applied'
end

-- h: an identity: the handle ("" when none is given), kept in the handle index too.
local function identity(a, seq, handle)
  local pk = K.profile(a)
  seq = tonumber(seq)
  if not newer(pk, 'hseq', seq) then return 'duplicate' end
  if handle ~= '' then
    local old = redis.call('HGET', pk, 'handle')
    if old then redis.call('ZREM', K.handles, old .. '\0' .. a) end
    redis.call('ZADD', K.handles, 0, handle .. '\0' .. a)
    redis.call('HSET', pk, 'handle', handle)
  end
  redis.call('HSET', pk, 'hseq', seq)
  return 'applied'
end

-- s: an account's status: active ("1") or not, and why not.
local function account(a, seq, active, status)
  local pk = K.profile(a)
  seq = tonumber(seq)
  if not newer(pk, 'aseq', seq) then return 'duplicate' end
  if active == '1' then
    -- An account that opted out stays hidden when it comes back.
    if not redis.call('HGET', pk, 'optout') then redis.call('SREM', K.hidden, a) end
    redis.call('HSET', pk, 'aseq', seq, 'status', 'active')
  else
    redis.call('SADD', K.hidden, a)
    redis.call('HSET', pk, 'aseq', seq, 'status', status)
    if status == 'deleted' then blocks_of_deleted(a) end
  end
  return 'applied'
end

-- o: an opt code posted by a (DID did): a is hidden or shown again when the API handed the
-- code out for that DID and that action. A code counts once.
local function opt_code(a, did, posted)
  local action, code = string.match(posted, '^(%a+):(%w+)$')
  local ck = K.optCode(code or '')
  if not code or redis.call('GET', ck) ~= did .. ' ' .. action then return 'unmatched' end
  local pk = K.profile(a)
  if action == 'out' then
    redis.call('HSET', pk, 'optout', '1')
    redis.call('SADD', K.hidden, a)
  else
    redis.call('HDEL', pk, 'optout')
    local status = redis.call('HGET', pk, 'status')
    if not status or status == 'active' then redis.call('SREM', K.hidden, a) end
  end
  redis.call('SET', ck, 'done ' .. did .. ' ' .. action, 'KEEPTTL')
  return 'applied'
end

-- Backfill ------------------------------------------------------------------------------

-- The backfill (backfill/) loads what repositories held before the platform read the live
-- stream, one call per repository part: m, then the part's records as b. A record counts
-- only when the live stream has not shown it: not in the record memory (created, updated
-- or deleted live), not deleted live while the repository was being read (a tombstone).
local TOMBSTONE_SECONDS = 7200 -- how long a tombstone outlives its hour
local RECORD_ID = 268435456 -- 2^28: a pair is type * 2^28 + the subject's id
local backfilling
-- A delete of a record the memory does not hold, while a backfill runs (a token in
-- K.backfillActive whose hold has not ended): a tombstone in K.tombstones of its hour.
local function tombstone(f, hour)
  if backfilling == nil then
    backfilling = #redis.call('ZRANGEBYSCORE', K.backfillActive, clock, '+inf', 'LIMIT', 0, 1) > 0
  end
  if not backfilling then return end
  local key = K.tombstones(hour)
  redis.call('HSET', key, f, '')
  expire_at(key, (hour + 1) * 3600 + TOMBSTONE_SECONDS)
end
-- d, as the operations table runs it: a delete that matched nothing leaves a tombstone.
local function delete_live(arg)
  local outcome = delete(arg)
  if outcome == 'unmatched' then
    local _, f, _, hour = record_op(arg)
    tombstone(f, hour)
  end
  return outcome
end

local repo -- the repository part this call loads (m), for its records (b)
-- m: the records that follow are repository D's (account A), from its progress mark E in
-- hash HK on, which moves to N. Refused, before anything is written, when the mark is not E
-- (another run moved it) or the backfill's token T no longer holds (it lapsed since the
-- repository was read, so live deletes may have gone untombstoned). NOW is the hour the
-- backfill is at; tombstones are looked for from hour TH on (the repository was read then).
-- Nothing of an account the live stream saw deleted, deactivated or taken down is loaded.
local function repo_part(hk, did, expected, new, a, token, now, th)
  if repo then return error('One repository part per call') end
  if (redis.call('HGET', hk, did) or '') ~= expected then
    return error('STALE The progress of ' .. did .. ' moved')
  end
  local hold = tonumber(redis.call('ZSCORE', K.backfillActive, token))
  if not hold or hold < clock then return error('STALE The backfill no longer holds ' .. token) end
  redis.call('HSET', hk, did, new)
  local status = redis.call('HGET', K.profile(a), 'status')
  now = tonumber(now)
  local tombs = {}
  for h = tonumber(th), now + 1 do
    local key = K.tombstones(h)
    if redis.call('EXISTS', key) == 1 then tombs[#tombs + 1] = key end
  end
  repo = {a = tonumber(a), hidden = status and status ~= 'active', span = math.floor(now / SPAN),
    tombs = tombs, at = (math.floor(now / 24) + 1) * 86400 + retention}
  return 'applied'
end

-- b: a record of the repository, made at hour H. W "1": inside the retention, counted as a
-- live create at H would be (logged; remembered while the memory spans H); W "0": older,
-- a follow or a block, kept only in the account's set and its blocks. Follows and blocks
-- keep the account's set for the retention from now.
local function backfill(w, arg)
  local a, f, x, hour, pairs = record_op(arg)
  if not repo or a ~= repo.a then return error('A backfilled record outside its repository') end
  if repo.hidden then return 'unmatched' end
  for _, key in ipairs(repo.tombs) do
    if redis.call('HEXISTS', key, f) == 1 then return 'duplicate' end
  end
  for sp = repo.span, repo.span - math.ceil(memhours / SPAN) - 1, -1 do
    local key = record_key(sp, x, false)
    if key and redis.call('HEXISTS', key, f) == 1 then return 'duplicate' end
  end
  if w == '1' then
    if (math.floor(hour / SPAN) + 1) * SPAN * 3600 + memsecs > clock then
      remember(f, x, hour, pairs, true)
    end
    apply_pairs(a, hour, pairs, 1)
  end
  for k = 1, #pairs, 4 do
    local v = struct.unpack('>I4', pairs, k)
    local t = math.floor(v / RECORD_ID)
    if t == 6 or t == 7 then
      local set = K.graph(a)
      if w ~= '1' then redis.call('SADD', set, t == 6 and -(v % RECORD_ID) or v % RECORD_ID) end
      -- A set names it now: its id is not reclaimed (reclaim_ids.lua).
      if w ~= '1' then redis.call('SREM', K.retiringIds, v % RECORD_ID, -(v % RECORD_ID)) end
      expire_at(set, repo.at)
    end
  end
  local r = block_key(f)
  if r then
    local s, minute = block_subject(pairs)
    if s then block_add(a, r, s, hour, minute) end
  end
  return 'applied'
end

-- Each operation's letter: how many arguments follow it, and what applies it.
local OPERATIONS = {
  e = {1, ids_epoch},
  c = {1, create},
  u = {1, update},
  d = {1, delete_live},
  p = {4, profile},
  h = {3, identity},
  s = {4, account},
  o = {3, opt_code},
  m = {8, repo_part},
  b = {2, backfill},
}

local outcomes = {applied = 0, duplicate = 0, unmatched = 0, late = 0}
local i, n = 9 + nids, #ARGV
while i <= n do
  local op = OPERATIONS[ARGV[i]]
  if op == nil then
    return redis.error_reply('Unknown operation "' .. tostring(ARGV[i]) .. '" at argument ' .. i)
  end
  local outcome = op[2](unpack(ARGV, i + 1, i + op[1]))
  outcomes[outcome] = outcomes[outcome] + 1
  i = i + 1 + op[1]
end

for key, parts in pairs(appends) do
  local data = table.concat(parts)
  -- A week's expiry never changes: set it only when the append made the key.
  if redis.call('APPEND', key, data) == #data then expire_at(key, append_expiry[key]) end
end
for key, at in pairs(expiries) do redis.call('EXPIREAT', key, at) end
for span, count in pairs(remembered) do redis.call('HINCRBY', K.recordBuckets, 'n' .. span, count) end
if nids > 0 then redis.call('XACK', stream, group, unpack(ARGV, 9, 8 + nids)) end
return {outcomes.applied, outcomes.duplicate, outcomes.unmatched, outcomes.late}
