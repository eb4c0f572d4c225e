-- The apply script (apply.lua), its part with the live stream's operations: each takes its
-- arguments and says what came of it.

-- c: a record created.
local function create(arg)
  local a, f, x, hour, pairs, tag = record_op(arg)
  if not remember(f, tag, x, hour, pairs, true) then return 'duplicate' end
  apply_pairs(a, hour, pairs, 1)
  block_created(a, f, pairs, hour)
  return 'applied'
end

-- u: a record updated: what its last version added is taken back, its new pairs added.
local function update(arg)
  local a, f, x, hour, pairs, tag = record_op(arg)
  local key, v, made = find_record(f, tag, x, hour)
  if v == 'x' then return 'duplicate' end
  if v then take_back(a, v, made); redis.call('HDEL', key, f) end
  remember(f, tag, x, hour, pairs, false)
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
  local a, f, x, hour, _, tag = record_op(arg)
  -- A block ends at any age: its record is kept while it stands.
  local r = block_key(f)
  local ended = r and block_remove(a, r)
  local key, v, made = find_record(f, tag, x, hour)
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
    if old then remote('r', K.handles, old .. '\0' .. a) end
    remote('z', K.handles, 0, handle .. '\0' .. a)
    redis.call('HSET', pk, 'handle', handle)
  end
  redis.call('HSET', pk, 'hseq', seq)
  return 'applied'
end

-- s: an account's status: active ("1") or not, and why not, at an hour. A deletion's hour
-- is kept (`dhour`): the sweep lets a deleted account go once the retention has passed it
-- (prune_profiles.lua).
local function account(a, seq, active, status, hour)
  local pk = K.profile(a)
  seq = tonumber(seq)
  if not newer(pk, 'aseq', seq) then return 'duplicate' end
  local was = redis.call('HGET', pk, 'status')
  if active == '1' then
    -- An account that opted out stays hidden when it comes back.
    if not redis.call('HGET', pk, 'optout') then remote('t', K.hidden, a) end
    redis.call('HSET', pk, 'aseq', seq, 'status', 'active')
  else
    remote('s', K.hidden, a)
    redis.call('HSET', pk, 'aseq', seq, 'status', status)
  end
  if active ~= '1' and status == 'deleted' then
    -- The first deletion's hour; a deletion said again keeps it, and one made before the
    -- hour was kept (who blocks it dropped with it) gets none.
    if was ~= 'deleted' then redis.call('HSET', pk, 'dhour', hour) end
    blocks_of_deleted(a)
  else
    -- Not deleted (any more): the sweep no longer lets it go. What letting it go already
    -- took (its blockers' entries, follows of it) stays gone: a deletion is final on the
    -- network, and this is the rare account that says otherwise.
    redis.call('HDEL', pk, 'dhour')
    remote('r', K.goneIds, a)
  end
  return 'applied'
end

-- o: an opt code posted by a (DID did): a is hidden or shown again when the API handed the
-- code out for that DID and that action. A code counts once.
local function opt_code(a, did, posted)
  local action, code = string.match(posted, '^(%a+):(%w+)$')
  local ck = K.optCode(code or '')
  if not code or value_of(ck) ~= did .. ' ' .. action then return 'unmatched' end
  local pk = K.profile(a)
  if action == 'out' then
    redis.call('HSET', pk, 'optout', '1')
    remote('s', K.hidden, a)
  else
    redis.call('HDEL', pk, 'optout')
    local status = redis.call('HGET', pk, 'status')
    if not status or status == 'active' then remote('t', K.hidden, a) end
  end
  remote('v', ck, 'done ' .. did .. ' ' .. action)
  return 'applied'
end
