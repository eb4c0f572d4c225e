/**
 * While Redis is away, requests that need it get 503 with Retry-After at once instead of
 * waiting for it; a failure that says Redis is away (a dropped connection, a command that
 * timed out) closes the gate and is answered the same 503.
 */
import { type RedisGate, storeUnavailable } from "../redis_gate.ts";
import type { Middleware } from "./compose.ts";

export function redisGate(gate: RedisGate): Middleware {
  return async (_ctx, next) => {
    if (!gate.open) throw storeUnavailable();
    try {
      return await next();
    } catch (err) {
      throw gate.unavailable(err) ?? err;
    }
  };
}
