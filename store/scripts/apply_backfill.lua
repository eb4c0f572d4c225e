-- The apply script (apply.lua), its part with the backfill's operations.

-- The backfill (backfill/) loads what repositories held before the platform read the live
-- stream, one call per repository part: m, then the part's records as b. A record counts
-- only when the live stream has not shown it: not in the record memory (created, updated
-- or deleted live), not deleted live while the repository was being read (a tombstone).
local TOMBSTONE_SECONDS = 7200 -- how long a tombstone outlives its hour
local RECORD_ID = 268435456 -- 2^28: a pair is type * 2^28 + the subject's id
local backfilling
-- A delete of a record the memory does not hold, while a backfill runs (a token in
-- K.backfillActive whose hold has not ended): a tombstone in K.tombstones of its hour. On
-- a Redis Cluster, whatever runs (no call of the first round reaches `{g}`), in the
-- author's slot (tag T): K.slotTombstones of its hour, where a backfill's call finds it.
local function tombstone(f, hour, tag)
  if CLUSTER then
    local key = K.slotTombstones(tag, hour)
    redis.call('HSET', key, f, '')
    expire_at(key, (hour + 1) * 3600 + TOMBSTONE_SECONDS)
    return
  end
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
    local _, f, _, hour, _, tag = record_op(arg)
    tombstone(f, hour, tag)
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
-- On a Redis Cluster, HK is the progress of the repositories in A's slot (cluster_apply.ts
-- names it), the hold was checked just before the call (the call cannot reach `{g}`), and
-- the tombstones are looked for in A's slot, for each record.
local function repo_part(hk, did, expected, new, a, token, now, th)
  if repo then return error('One repository part per call') end
  if (redis.call('HGET', hk, did) or '') ~= expected then
    return error('STALE The progress of ' .. did .. ' moved')
  end
  if not CLUSTER then
    local hold = tonumber(redis.call('ZSCORE', K.backfillActive, token))
    if not hold or hold < clock then
      return error('STALE The backfill no longer holds ' .. token)
    end
  end
  redis.call('HSET', hk, did, new)
  local status = redis.call('HGET', K.profile(a), 'status')
  now = tonumber(now)
  local tombs = {}
  if not CLUSTER then
    for h = tonumber(th), now + 1 do
      local key = K.tombstones(h)
      if redis.call('EXISTS', key) == 1 then tombs[#tombs + 1] = key end
    end
  end
  repo = {a = tonumber(a), hidden = status and status ~= 'active', span = math.floor(now / SPAN),
    tombs = tombs, from = tonumber(th), to = now + 1, at = (math.floor(now / 24) + 1) * 86400 + retention}
  return 'applied'
end

-- b: a record of the repository, made at hour H. W "1": inside the retention, counted as a
-- live create at H would be (logged; remembered while the memory spans H); W "0": older,
-- a follow or a block, kept only in the account's set and its blocks. Follows and blocks
-- keep the account's set for the retention from now.
local function backfill(w, arg)
  local a, f, x, hour, pairs, tag = record_op(arg)
  if not repo or a ~= repo.a then return error('A backfilled record outside its repository') end
  if repo.hidden then return 'unmatched' end
  for _, key in ipairs(repo.tombs) do
    if redis.call('HEXISTS', key, f) == 1 then return 'duplicate' end
  end
  if CLUSTER then
    for h = repo.from, repo.to do
      if redis.call('HEXISTS', K.slotTombstones(tag, h), f) == 1 then return 'duplicate' end
    end
  end
  for sp = repo.span, repo.span - math.ceil(memhours / SPAN) - 1, -1 do
    local key = record_key(sp, tag, x, false)
    if key and redis.call('HEXISTS', key, f) == 1 then return 'duplicate' end
  end
  if w == '1' then
    if (math.floor(hour / SPAN) + 1) * SPAN * 3600 + memsecs > clock then
      remember(f, tag, x, hour, pairs, true)
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
      if w ~= '1' then
        local id = v % RECORD_ID
        if CLUSTER then
          remote('t', K.retiringIds, id)
          remote('t', K.retiringIds, -id)
        else
          redis.call('SREM', K.retiringIds, id, -id)
        end
      end
      expire_at(set, repo.at)
    end
  end
  block_created(a, f, pairs, hour)
  return 'applied'
end
