/**
 * Rate limits held in Redis, so that several API processes share them: the generic cell
 * rate algorithm (one key per client, holding the "theoretical arrival time"), decided
 * atomically by one script with Redis's own clock.
 */
import type { Redis } from "@bsky/shared/redis";

/** Allowed: {1, remaining, ms until full}; refused: {0, ms to wait, ms until full}. */
const GCRA_SCRIPT = `
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local allow_at = tat + interval - burst
if now < allow_at then
  return {0, allow_at - now, tat - now}
end
local new_tat = tat + interval
redis.call('SET', KEYS[1], new_tat, 'PX', math.max(1, math.ceil(new_tat - now)))
return {1, math.floor((burst - (new_tat - now)) / interval), new_tat - now}
`;

export interface RateDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the allowance is whole again. */
  resetSeconds: number;
  /** Seconds to wait before the next request can pass (refused requests). */
  retryAfterSeconds: number;
}

type GcraRedis = Redis & { gcra(key: string, interval: number, burst: number): Promise<number[]> };

export class RateLimiter {
  #redis: GcraRedis;

  constructor(redis: Redis) {
    this.#redis = redis as GcraRedis;
    if (!("gcra" in redis)) redis.defineCommand("gcra", { lua: GCRA_SCRIPT, numberOfKeys: 1 });
  }

  /**
   * Counts one request of `client` against `limit` a `periodMs` (a minute unless said); the
   * whole limit may come at once, then one every periodMs / limit.
   */
  async take(client: string, limit: number, periodMs = 60_000): Promise<RateDecision> {
    const interval = periodMs / limit;
    const [ok, a, reset] = await this.#redis.gcra(`rl:{${client}}`, interval, periodMs);
    return {
      allowed: ok === 1,
      limit,
      remaining: ok === 1 ? Math.max(0, a) : 0,
      resetSeconds: Math.ceil(reset / 1000),
      retryAfterSeconds: ok === 1 ? 0 : Math.max(1, Math.ceil(a / 1000)),
    };
  }
}

/** The RateLimit-* headers (and Retry-After when refused) of a decision. */
export function rateHeaders(d: RateDecision): Record<string, string> {
  const h: Record<string, string> = {
    "ratelimit-limit": String(d.limit),
    "ratelimit-remaining": String(d.remaining),
    "ratelimit-reset": String(d.resetSeconds),
  };
  if (!d.allowed) h["retry-after"] = String(d.retryAfterSeconds);
  return h;
}
