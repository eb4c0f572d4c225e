/** The API's configuration (documented in .env.example). */
import { commonEnv, env, type EnvSource, loadConfig } from "@bsky/shared/config";
import { ConfigError } from "@bsky/shared/errors";
import { connectionLimitsEnv } from "@bsky/shared/http_server";

export const fartEnv = {
  ...commonEnv,
  FART_PORT: env.int(8000, { min: 0, max: 65535 }),
  /**
   * Port of /metrics and /healthz for operators, apart from the public port: the metrics
   * name the API keys and count each one's requests.
   */
  FART_METRICS_PORT: env.int(8005, { min: 0, max: 65535 }),
  /**
   * Time limits of a client's connection: its first request's headers, each request until
   * its answer is sent, and the wait for the next request's headers after an answer.
   */
  ...connectionLimitsEnv("FART"),
  /**
   * SHA-256 hashes (hex) of the accepted API keys, comma-separated, each optionally named
   * ("site:ab12…"). Unset: the API is open and limited per IP only. Set: every request
   * needs one of the keys, unless FART_KEYS_OPTIONAL.
   */
  FART_API_KEYS: env.string(""),
  /**
   * With FART_API_KEYS set, still serve callers without a key (limited per IP), while a
   * key's holder gets the per-key limit: how the site gets its own allowance on an open API.
   */
  FART_KEYS_OPTIONAL: env.bool(false),
  /** Requests a minute per API key, and per client IP. */
  FART_RATE_PER_KEY: env.int(600, { min: 1 }),
  FART_RATE_PER_IP: env.int(120, { min: 1 }),
  /**
   * Opt codes an hour one account may be given, and one client IP may ask for: each waits an
   * hour in Redis, and a flood of them would only bother the account.
   */
  FART_OPTOUT_CODES_PER_ACCOUNT: env.int(5, { min: 1 }),
  FART_OPTOUT_CODES_PER_IP: env.int(20, { min: 1 }),
  /** Requests a minute with a missing or wrong API key per client IP, past which it gets 429. */
  FART_AUTH_FAILURES_PER_IP: env.int(20, { min: 1 }),
  /**
   * Behind reverse proxies: take the client IP from X-Forwarded-For, as the outermost of
   * FART_TRUSTED_PROXIES proxies appended it (never the first entry, which the client writes).
   */
  FART_TRUST_PROXY: env.bool(false),
  /** How many reverse proxies in front of the API append to X-Forwarded-For. */
  FART_TRUSTED_PROXIES: env.int(1, { min: 1, max: 16 }),
  /**
   * How long a command may wait for Redis. While Redis is away or stalled, requests are
   * answered 503 at once, or after at most this long, instead of waiting for it.
   */
  FART_REDIS_TIMEOUT_MS: env.int(500, { min: 10, max: 5000 }),
  /** Threads that draw PNG circles, beside the thread that answers requests. */
  FART_PNG_WORKERS: env.int(2, { min: 1, max: 64 }),
  /**
   * PNG renders that may wait for a free thread; past them a PNG is refused with 503 and
   * Retry-After, so a burst cannot pile up work and memory.
   */
  FART_PNG_QUEUE: env.int(16, { min: 0, max: 1000 }),
  /** How long answers are cached in Redis. */
  FART_CACHE_SECONDS: env.int(60, { min: 1, max: 3600 }),
  /** Where handles and DIDs are resolved when the local index does not know them. */
  FART_PLC_URL: env.url("https://plc.directory", ["http", "https"]),
  FART_HANDLE_RESOLVER_URL: env.url("https://public.api.bsky.app", ["http", "https"]),
  /** The avatar CDN; avatars also come from the account's own PDS. */
  FART_AVATAR_CDN_URL: env.url("https://cdn.bsky.app", ["http", "https"]),
  /** Largest avatar accepted, in bytes. */
  FART_AVATAR_MAX_BYTES: env.int(1_000_000, { min: 1000 }),
  /**
   * Let DID documents send the API to loopback, private or link-local hosts, plain http
   * and any port (a PDS endpoint, a did:web host). Only for development and tests with a
   * local PDS: in production a DID document could otherwise point the API at its own Redis.
   */
  FART_ALLOW_PRIVATE_NETWORK: env.bool(false),
};

export type FartConfig = ReturnType<typeof loadFartConfig>;

export function loadFartConfig(source?: EnvSource) {
  return loadConfig(fartEnv, source);
}

/** The API keys' hashes, by hash, with their names. */
export function apiKeyHashes(config: Pick<FartConfig, "FART_API_KEYS">): Map<string, string> {
  const out = new Map<string, string>();
  for (const item of config.FART_API_KEYS.split(",").map((s) => s.trim()).filter(Boolean)) {
    const [name, hash] = item.includes(":") ? item.split(":", 2) : ["key", item];
    if (!/^[0-9a-f]{64}$/.test(hash)) {
      throw new ConfigError(
        `Cannot parse FART_API_KEYS: "${item}" is not a SHA-256 hash (64 hex digits)`,
      );
    }
    out.set(hash, name);
  }
  return out;
}
