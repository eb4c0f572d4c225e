/**
 * Roll-up of the interaction logs: entries that cancel out (a create and its delete) go,
 * the rest is rewritten in order, and the string loses the growth slack that appending
 * leaves. Each log is rewritten by one atomic script, so it is safe while the indexer
 * writes; running it twice changes nothing. The scheduler runs it for past weeks (and the
 * current one, whose slack comes back as it grows).
 */
import type { Redis } from "@bsky/shared/redis";

/** Compacts one log in place, keeping its TTL; returns [bytes before, bytes after]. */
export const COMPACT_SCRIPT = `
local log = redis.call('GET', KEYS[1])
if not log then return {0, 0} end
local net, order = {}, {}
-- 5-byte entries; the fourth byte holds the undo flag (0x04).
for p = 1, #log - 4, 5 do
  local b = string.byte(log, p + 3)
  local undo = math.floor(b / 4) % 2 == 1
  local key = string.sub(log, p, p + 2) .. string.char(undo and b - 4 or b) .. string.sub(log, p + 4, p + 4)
  if net[key] == nil then net[key] = 0; order[#order + 1] = key end
  net[key] = net[key] + (undo and -1 or 1)
end
local parts = {}
for _, key in ipairs(order) do
  for _ = 1, net[key] do parts[#parts + 1] = key end
end
local out = table.concat(parts)
if #out == 0 then
  redis.call('DEL', KEYS[1])
elseif #out ~= #log or out ~= log then
  redis.call('SET', KEYS[1], out, 'KEEPTTL')
else
  -- Same content: still rewrite once, to drop the append slack.
  redis.call('SET', KEYS[1], out, 'KEEPTTL')
end
return {#log, #out}
`;

type CompactRedis = Redis & { compactLog(key: string): Promise<[number, number]> };

/** Compacts every interaction log of `week`; returns the bytes before and after. */
export async function compactWeek(
  redis: Redis,
  week: number,
): Promise<{ before: number; after: number; keys: number }> {
  const r = redis as CompactRedis;
  if (!("compactLog" in redis)) {
    redis.defineCommand("compactLog", { lua: COMPACT_SCRIPT, numberOfKeys: 1 });
  }
  let before = 0, after = 0, keys = 0;
  let cursor = "0";
  do {
    const [next, found] = await redis.scan(cursor, "MATCH", `l:{*}:${week}`, "COUNT", 1000);
    cursor = next;
    for (const key of found) {
      const [b, a] = await r.compactLog(key);
      before += b;
      after += a;
      keys++;
    }
  } while (cursor !== "0");
  return { before, after, keys };
}
