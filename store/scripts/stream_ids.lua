-- Stream entry ids, for the scripts that keep a watermark per stream partition
-- (slot_writes.lua, apply_cluster_run.lua), put before them (crossSlotScript, lua.ts): ("<ms>-<seq>", decimal without leading zeros) compared as numbers of
-- any size: by length, then as text.
local function id_of(text)
  local ms, seq = string.match(text or '', '^(%d+)%-(%d+)$')
  if not ms or (#ms > 1 and ms:sub(1, 1) == '0') or (#seq > 1 and seq:sub(1, 1) == '0') then
    error('Not a stream entry id: "' .. tostring(text) .. '"')
  end
  return {ms, seq}
end
local function greater(a, b)
  if #a ~= #b then return #a > #b end
  return a > b
end
local function after(a, b)
  if a[1] ~= b[1] then return greater(a[1], b[1]) end
  return greater(a[2], b[2])
end

