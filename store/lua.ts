/**
 * The store's Lua scripts (scripts/*.lua) as Redis runs them: each with the key names of
 * layout.ts in front, so that no script spells a key name itself.
 */
import streamIds from "./scripts/stream_ids.lua" with { type: "text" };
import type { Redis } from "@bsky/shared/redis";
import { ID_BUCKET, KEY_NAMES, KEY_VALUE } from "./layout.ts";

/**
 * The Lua that gives a script the key names: a table `K` with a string for each key that
 * takes no value and a function for each that does (`K.log(id, week)`), and `K.ID_BUCKET`.
 * One line, so that a script's line numbers in Redis's errors stay its file's.
 */
export const LUA_KEYS: string = [
  "local K = {}",
  ...Object.entries(KEY_NAMES).map(([name, template]) => {
    const params = [...template.matchAll(KEY_VALUE)].map((m) => m[1]);
    if (params.length === 0) return `K.${name} = '${template}'`;
    const body = template.split(KEY_VALUE).map((part, k) => k % 2 ? part : `'${part}'`)
      .filter((part) => part !== "''").join(" .. ");
    return `function K.${name}(${params.join(", ")}) return ${body} end`;
  }),
  `K.ID_BUCKET = ${ID_BUCKET}`,
].join(" ");

/** A script's source with the key names (LUA_KEYS) in front, on its first line. */
export function withKeys(source: string): string {
  return `${LUA_KEYS} ${source}`;
}

/**
 * A script that may touch keys of several hash slots of its node on a Redis Cluster: it
 * declares no keys and carries the flag that allows it (Redis 7). The stream ids' helpers
 * (scripts/stream_ids.lua) come first.
 */
export function crossSlotScript(source: string): string {
  return `#!lua flags=allow-cross-slot-keys\n${streamIds}\n${source}`;
}

/**
 * Defines `name` as a command of the connection that runs `script` (EVALSHA, loading it
 * when Redis does not have it), once per connection.
 */
export function defineScript(redis: Redis, name: string, script: string, numberOfKeys = 0): void {
  if (!(name in redis)) redis.defineCommand(name, { lua: script, numberOfKeys });
}
