/**
 * API keys: the key a request presents (Authorization: Bearer) is checked against the
 * configured SHA-256 hashes. With keys required a request without one is refused; with
 * keys optional it passes as anonymous. A missing or wrong key is a 401, or a 429 once the
 * address has failed more than `failuresPerIp` times a minute: keys cannot be guessed at
 * the speed of the network. Valid keys cost no count.
 */
import { Buffer } from "node:buffer";
import { BoundedMap, stringBytes } from "@bsky/shared/bounded_map";
import { HttpError } from "../http.ts";
import type { FartMetrics } from "../metrics.ts";
import type { RateLimiter } from "../rate_limit.ts";
import type { Middleware } from "./compose.ts";

/** How API keys are configured: none, optional (only the rate limit differs), or required. */
export type KeyMode = "none" | "optional" | "required";

/** Bounds of the kept hashes of presented API keys. */
export const KEY_HASHES = { maxEntries: 1000, maxBytes: 256 * 1024 };
/** Longest API key taken, in characters. */
const MAX_KEY_CHARS = 256;

/** The configured keys, and the hashes of keys presented lately. */
export class ApiKeys {
  /**
   * SHA-256 (hex) of presented keys. The same few keys (the site's above all) come with
   * nearly every request, so their hashes are kept, within bounds; a flood of wrong keys
   * only pushes out the least used.
   */
  readonly #hashes = new BoundedMap<string, string>({
    ...KEY_HASHES,
    sizeOf: (token, hash) => stringBytes(token) + stringBytes(hash),
  });
  readonly mode: KeyMode;

  /** `names` by hash: the configured keys; none means the API is open. */
  constructor(readonly names: ReadonlyMap<string, string>, optional: boolean) {
    this.mode = names.size === 0 ? "none" : optional ? "optional" : "required";
  }

  /** Hashes of presented keys kept in memory: entries and bytes. */
  kept(): { entries: number; bytes: number } {
    return { entries: this.#hashes.size, bytes: this.#hashes.bytes };
  }

  /** The key's name and hash when it is one of the configured keys. */
  async find(token: string): Promise<{ name: string; hash: string } | undefined> {
    // Longer than any key: refused without hashing it or keeping anything.
    if (token.length > MAX_KEY_CHARS) return undefined;
    let hash = this.#hashes.get(token);
    if (hash === undefined) {
      const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token));
      hash = Buffer.from(digest).toString("hex");
      this.#hashes.set(token, hash);
    }
    const name = this.names.get(hash);
    return name === undefined ? undefined : { name, hash };
  }
}

export interface ApiKeyOptions {
  keys: ApiKeys;
  limiter: RateLimiter;
  /** Missing or wrong keys a minute from one address before it gets 429. */
  failuresPerIp: number;
  metrics: FartMetrics;
}

/** Sets `ctx.key` for a valid key; refuses a missing (when required) or wrong one. */
export function apiKey({ keys, limiter, failuresPerIp, metrics }: ApiKeyOptions): Middleware {
  async function unauthorized(ip: string, message: string): Promise<never> {
    metrics.authFailures.inc();
    const decision = await limiter.take(`authfail:${ip}`, failuresPerIp);
    if (!decision.allowed) {
      metrics.rateLimited.inc();
      throw new HttpError(
        429,
        `Too many requests without a valid API key: try again in ${decision.retryAfterSeconds} s`,
        {},
        { "retry-after": String(decision.retryAfterSeconds) },
      );
    }
    throw new HttpError(401, message, {}, { "www-authenticate": "Bearer" });
  }
  return async (ctx, next) => {
    const auth = ctx.req.headers.get("authorization");
    if (keys.mode === "required" || auth) {
      const token = auth?.match(/^Bearer\s+(\S+)$/i)?.[1];
      if (!token) {
        return await unauthorized(
          ctx.ip,
          "An API key is needed: send Authorization: Bearer <key>",
        );
      }
      ctx.key = await keys.find(token) ??
        await unauthorized(ctx.ip, "The API key is not valid");
    }
    return await next();
  };
}
