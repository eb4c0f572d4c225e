/**
 * The API as one fetch handler (`createApp(deps).fetch`), so tests call it without a
 * socket and main.ts serves it. Every request passes, in order: metrics, CORS, errors as
 * JSON answers, the URL's length, a CORS preflight, then the router (routes.ts declares the
 * routes). The open routes (/healthz, /openapi.json, /docs) go straight to their handler;
 * the others pass the Redis gate, the API key, the rate limit and, with keys required,
 * private caching first. /metrics, which names keys and counts each one's requests, is not
 * among the routes: the service serves it on FART_METRICS_PORT, apart from the public port.
 */
import { type Clock, systemClock } from "@bsky/shared/clock";
import { clientIp } from "@bsky/shared/client_ip";
import type { Logger } from "@bsky/shared/log";
import type { Redis } from "@bsky/shared/redis";
import type { FartConfig } from "./config.ts";
import { apiKeyHashes } from "./config.ts";
import { AnswerCache } from "./cache.ts";
import { Avatars } from "./avatar.ts";
import { Identity } from "./identity.ts";
import { type FartMetrics, fartMetrics } from "./metrics.ts";
import { apiKey, ApiKeys, type KeyMode } from "./middleware/api_key.ts";
import { privateAnswers } from "./middleware/cache_control.ts";
import { compose, type Ctx, type Handler, type Middleware } from "./middleware/compose.ts";
import { cors, preflight } from "./middleware/cors.ts";
import { errors } from "./middleware/errors.ts";
import { measure } from "./middleware/metrics.ts";
import { rateLimit } from "./middleware/rate_limit.ts";
import { redisGate } from "./middleware/redis_gate.ts";
import { urlLimit } from "./middleware/url_limit.ts";
import { docsPage, openApiDocument } from "./openapi.ts";
import { PngPool } from "./png_pool.ts";
import { RateLimiter } from "./rate_limit.ts";
import { RedisGate } from "./redis_gate.ts";
import type { Route, Services } from "./route.ts";
import { dispatcher, Router } from "./router.ts";
import { API_ROUTES } from "./routes.ts";

export { KEY_HASHES, type KeyMode } from "./middleware/api_key.ts";

export interface AppDeps {
  redis: Redis;
  config: FartConfig;
  log: Logger;
  fetch?: typeof fetch;
  metrics?: FartMetrics;
  /** The system clock unless a test sets one. */
  clock?: Clock;
}

export interface App {
  fetch(req: Request, info?: { remoteAddr: { hostname: string } }): Promise<Response>;
  metrics: FartMetrics;
  cache: AnswerCache;
  /** Hashes of presented API keys kept in memory: entries and bytes. */
  keyHashes(): { entries: number; bytes: number };
  /** The PNG renderers (started when first needed). */
  png: PngPool;
  /** Stops the PNG renderers. */
  close(): void;
}

/** Longest path and query taken, in characters: 414 past it. */
export const MAX_URL_CHARS = 4096;

/** What the handlers work with: the store, the identity network, the caches, the renderers. */
function services(deps: AppDeps, keyMode: KeyMode): Services {
  const { redis, config } = deps;
  const identity = new Identity(redis, {
    plcUrl: config.FART_PLC_URL,
    handleResolverUrl: config.FART_HANDLE_RESOLVER_URL,
    allowPrivateNetwork: config.FART_ALLOW_PRIVATE_NETWORK,
    fetch: deps.fetch,
  });
  const avatars = new Avatars(redis, identity, {
    cdnUrl: config.FART_AVATAR_CDN_URL,
    maxBytes: config.FART_AVATAR_MAX_BYTES,
    fetch: deps.fetch,
  });
  let openapi: Uint8Array | undefined, docs: Uint8Array | undefined;
  const encode = (text: string) => new TextEncoder().encode(text);
  return {
    redis,
    config,
    identity,
    avatars,
    cache: new AnswerCache(redis, config.FART_CACHE_SECONDS),
    png: new PngPool({ workers: config.FART_PNG_WORKERS, queue: config.FART_PNG_QUEUE }),
    limiter: new RateLimiter(redis),
    clock: deps.clock ?? systemClock,
    gate: RedisGate.of(redis, deps.log),
    documents: {
      openapi: () => openapi ??= encode(JSON.stringify(openApiDocument(keyMode), null, 2)),
      docs: () => docs ??= encode(docsPage()),
    },
  };
}

/**
 * What a route's requests pass before its handler: none for the open routes; for the
 * others the Redis gate, the API key, the rate limit, and private caching with keys required.
 */
function guards(config: FartConfig, s: Services, keys: ApiKeys, metrics: FartMetrics) {
  const guarded: Middleware[] = [
    redisGate(s.gate),
    apiKey({
      keys,
      limiter: s.limiter,
      failuresPerIp: config.FART_AUTH_FAILURES_PER_IP,
      metrics,
    }),
    rateLimit({
      limiter: s.limiter,
      perKey: config.FART_RATE_PER_KEY,
      perIp: config.FART_RATE_PER_IP,
      metrics,
    }),
    ...(keys.mode === "required" ? [privateAnswers] : []),
  ];
  return (route: Route): readonly Middleware[] => route.open ? [] : guarded;
}

export function createApp(deps: AppDeps): App {
  const { config, log } = deps;
  const metrics = deps.metrics ?? fartMetrics();
  const keys = new ApiKeys(apiKeyHashes(config), config.FART_KEYS_OPTIONAL);
  const s = services(deps, keys.mode);
  const route = dispatcher(new Router(API_ROUTES), guards(config, s, keys, metrics), s);
  const handle: Handler = compose(
    [measure(metrics), cors, errors(log), urlLimit(MAX_URL_CHARS), preflight],
    route,
  );
  const proxies = config.FART_TRUST_PROXY ? config.FART_TRUSTED_PROXIES : 0;
  return {
    metrics,
    cache: s.cache,
    keyHashes: () => keys.kept(),
    png: s.png,
    close: () => s.png.close(),
    fetch(req, info) {
      const peer = info?.remoteAddr.hostname ?? "unknown";
      const ctx: Ctx = {
        req,
        url: new URL(req.url),
        ip: clientIp(req.headers.get("x-forwarded-for"), peer, proxies),
        route: "error",
        key: undefined,
      };
      return handle(ctx);
    },
  };
}
