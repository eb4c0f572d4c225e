/**
 * The retention sweep: walks every key and checks that nothing outlives its retention.
 * Keys that must expire and have no TTL are reported by prefix and, when fixing, given the
 * TTL their writer would have set; logs older than the retention are deleted, and so are
 * the profiles (with their handle index entries) of accounts idle through the retention.
 * The DID ↔ id interning is reported only: the indexer reads ids outside its apply script,
 * so freeing them here would race; ids are capped instead (2^28, a clear error past it).
 */
import type { Redis } from "@bsky/shared/redis";
import { HOUR_MS } from "@bsky/store/layout";
import { pruneIdleProfiles } from "@bsky/store/profiles";

const WEEK_S = 168 * 3600;

export interface SweepOptions {
  retentionDays: number;
  fix: boolean;
  now: number;
}

/** What a key without a TTL should expire at (seconds), or "keep" for keys meant to stay. */
function expectedExpiry(key: string, retentionS: number, nowS: number): number | "keep" {
  const tail = Number(key.slice(key.lastIndexOf(":") + 1));
  if (key.startsWith("l:{")) return (tail + 1) * WEEK_S + retentionS;
  if (key.startsWith("stats:{firehose}:ev:m:")) return (tail + 1) * 60 + 49 * 3600;
  if (
    key.startsWith("stats:{firehose}:ev:h:") || /^stats:\{firehose\}:(act:\w+|new):h:/.test(key)
  ) {
    return (tail + 1) * 3600 + 31 * 86400;
  }
  if (/^stats:\{firehose\}:act:\w+:d:/.test(key)) return (tail + 1) * 86400 + 31 * 86400;
  if (key.startsWith("stats:{g}:top:")) return nowS + 7 * 86400;
  if (key.startsWith("g:{")) return nowS + retentionS;
  if (key.startsWith("r:{")) return nowS + 7 * 86400;
  if (key.startsWith("fart:")) return nowS + 86400;
  if (key === "sched:{g}:looked_up") return nowS + 7 * 86400;
  return "keep";
}

/** The prefix a key is reported under: up to its hash tag's end, the tag's id generalized. */
export function prefixOf(key: string): string {
  return key.replace(/\{\d+\}/, "{id}").replace(/:\d+$/, ":<n>");
}

export async function sweep(redis: Redis, options: SweepOptions) {
  const { now } = options;
  const nowS = Math.floor(now / 1000);
  const retentionS = options.retentionDays * 86400;
  const week = Math.floor(now / HOUR_MS / 168);
  const noTtl: Record<string, number> = {};
  const kept: Record<string, number> = {};
  let scanned = 0, fixed = 0, expiredLogs = 0, idleProfiles = 0;
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "COUNT", 2000);
    cursor = next;
    if (keys.length === 0) continue;
    scanned += keys.length;
    const ttls = await redis.pipeline(keys.map((k) => ["ttl", k])).exec();
    const fix = redis.pipeline();
    let fixes = 0;
    const profiles: number[] = [];
    keys.forEach((key, k) => {
      const profile = key.match(/^p:\{(\d+)\}$/);
      if (profile) profiles.push(Number(profile[1]));
      const ttl = ttls![k][1] as number;
      // A log of a week past the retention, whatever its TTL says.
      if (key.startsWith("l:{")) {
        const w = Number(key.slice(key.lastIndexOf(":") + 1));
        if ((w + 1) * WEEK_S + retentionS <= nowS && w < week) {
          expiredLogs++;
          if (options.fix) (fix.unlink(key), fixes++);
          return;
        }
      }
      if (ttl !== -1) return;
      const at = expectedExpiry(key, retentionS, nowS);
      const prefix = prefixOf(key);
      if (at === "keep") {
        kept[prefix] = (kept[prefix] ?? 0) + 1;
        return;
      }
      noTtl[prefix] = (noTtl[prefix] ?? 0) + 1;
      if (options.fix) {
        fix.expireat(key, Math.max(at, nowS + 1));
        fixes++;
        fixed++;
      }
    });
    if (fixes) await fix.exec();
    if (options.fix) {
      idleProfiles += await pruneIdleProfiles(redis, profiles, {
        retentionDays: options.retentionDays,
        now,
      });
    }
  } while (cursor !== "0");
  return { scanned, noTtl, fixed, expiredLogs, idleProfiles, keptWithoutTtl: kept };
}
