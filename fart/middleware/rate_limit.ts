/**
 * The rate limit: each request takes one from its caller's allowance a minute, the key's
 * when it came with one (`ctx.key`), else its address's. Every answer says what is left
 * (RateLimit-*); past the allowance, 429 with Retry-After.
 */
import { HttpError } from "../http.ts";
import type { FartMetrics } from "../metrics.ts";
import { rateHeaders, type RateLimiter } from "../rate_limit.ts";
import type { Middleware } from "./compose.ts";

export interface RateLimitOptions {
  limiter: RateLimiter;
  /** Requests a minute per API key, and per address without one. */
  perKey: number;
  perIp: number;
  metrics: FartMetrics;
}

export function rateLimit({ limiter, perKey, perIp, metrics }: RateLimitOptions): Middleware {
  return async (ctx, next) => {
    const client = ctx.key ? `key:${ctx.key.hash.slice(0, 32)}` : `ip:${ctx.ip}`;
    const perMinute = ctx.key ? perKey : perIp;
    const decision = await limiter.take(client, perMinute);
    const headers = rateHeaders(decision);
    metrics.byKey.inc({ key: ctx.key?.name ?? "" });
    if (!decision.allowed) {
      metrics.rateLimited.inc();
      throw new HttpError(
        429,
        `Too many requests: ${perMinute} a minute are allowed, try again in ${decision.retryAfterSeconds} s`,
        {},
        headers,
      );
    }
    const res = await next();
    for (const [k, v] of Object.entries(headers)) res.headers.set(k, v);
    return res;
  };
}
