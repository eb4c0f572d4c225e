/**
 * The API as one fetch handler (`createApp(deps).fetch`), so tests call it without a
 * socket and main.ts serves it. Order for each request: CORS preflight, method, the open
 * routes (/healthz, /openapi.json, /docs), then API key, rate limit, route. /metrics, which
 * names keys and counts each one's requests, is not among them: the service serves it on
 * FART_METRICS_PORT, apart from the public port.
 */
import type { Clock } from "@bsky/shared/clock";
import { Buffer } from "node:buffer";
import { BoundedMap, stringBytes } from "@bsky/shared/bounded_map";
import { clientIp } from "@bsky/shared/client_ip";
import type { Logger } from "@bsky/shared/log";
import type { Redis } from "@bsky/shared/redis";
import { isValidDid } from "@bsky/shared/syntax";
import type { FartConfig } from "./config.ts";
import { apiKeyHashes } from "./config.ts";
import { AnswerCache } from "./cache.ts";
import { Avatars } from "./avatar.ts";
import {
  badParameter,
  CORS_HEADERS,
  decodePathPart,
  errorResponse,
  HttpError,
  keepPrivate,
  parseQuery,
  withEtag,
} from "./http.ts";
import { Identity } from "./identity.ts";
import { type FartMetrics, fartMetrics } from "./metrics.ts";
import { docsPage, openApiDocument } from "./openapi.ts";
import { rateHeaders, RateLimiter } from "./rate_limit.ts";
import { RedisGate, storeUnavailable } from "./redis_gate.ts";
import { PngPool } from "./png_pool.ts";
import { Routes } from "./routes.ts";
import { noQuery } from "./schemas.ts";

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

/** Bounds of the kept hashes of presented API keys. */
export const KEY_HASHES = { maxEntries: 1000, maxBytes: 256 * 1024 };
/** Longest API key taken, in characters. */
const MAX_KEY_CHARS = 256;
/** Longest path and query taken, in characters: 414 past it. */
export const MAX_URL_CHARS = 4096;

type RouteName =
  | "interactions"
  | "circles"
  | "top"
  | "live"
  | "jobs"
  | "search"
  | "avatar"
  | "optout"
  | "optcode";
/**
 * The routes behind the API key and the rate limit: path, name, and the one method each
 * answers (GET also answers HEAD). Only asking for an opt-out code writes.
 */
export const ROUTES: readonly (readonly [RegExp, RouteName, "GET" | "POST"])[] = [
  [/^\/v1\/interactions\/([^/]+)$/, "interactions", "GET"],
  [/^\/v1\/circles\/([^/]+?)(\.svg|\.png)?$/, "circles", "GET"],
  [/^\/v1\/stats\/top$/, "top", "GET"],
  [/^\/v1\/stats\/live$/, "live", "GET"],
  [/^\/v1\/stats\/jobs$/, "jobs", "GET"],
  [/^\/v1\/actors\/search$/, "search", "GET"],
  [/^\/v1\/avatar\/([^/]+)$/, "avatar", "GET"],
  [/^\/v1\/optout\/codes\/([^/]+)$/, "optcode", "GET"],
  [/^\/v1\/optout\/([^/]+)$/, "optout", "POST"],
];

/** The routes open to anyone, without key or rate limit, by path: GET and HEAD only. */
export const OPEN_ROUTES = {
  "/healthz": "healthz",
  "/openapi.json": "openapi",
  "/docs": "docs",
  "/": "docs",
} as const;

type OpenRoute = (typeof OPEN_ROUTES)[keyof typeof OPEN_ROUTES];

/** How API keys are configured: none, optional (only the rate limit differs), or required. */
export type KeyMode = "none" | "optional" | "required";

export function createApp(deps: AppDeps): App {
  const { redis, config, log } = deps;
  const metrics = deps.metrics ?? fartMetrics();
  const keys = apiKeyHashes(config);
  const keyMode: KeyMode = keys.size === 0
    ? "none"
    : config.FART_KEYS_OPTIONAL
    ? "optional"
    : "required";
  const limiter = new RateLimiter(redis);
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
  const cache = new AnswerCache(redis, config.FART_CACHE_SECONDS);
  const png = new PngPool({ workers: config.FART_PNG_WORKERS, queue: config.FART_PNG_QUEUE });
  const routes = new Routes(redis, identity, avatars, cache, config, png, limiter, deps.clock);
  const gate = RedisGate.of(redis, log);
  let openapi: Uint8Array | undefined;
  let docs: Uint8Array | undefined;

  async function handle(req: Request, ip: string): Promise<[Response, string]> {
    const url = new URL(req.url);
    if (url.pathname.length + url.search.length > MAX_URL_CHARS) {
      throw new HttpError(414, `The path and query are longer than ${MAX_URL_CHARS} characters`);
    }
    if (req.method === "OPTIONS") return [new Response(null, { status: 204 }), "preflight"];
    const reads = req.method === "GET" || req.method === "HEAD";
    if (!reads && req.method !== "POST") {
      throw new HttpError(405, `Method ${req.method} is not allowed`, {}, {
        allow: "GET, HEAD, POST, OPTIONS",
      });
    }
    const open = (OPEN_ROUTES as Record<string, OpenRoute | undefined>)[url.pathname];
    if (open && !reads) {
      throw new HttpError(405, `Method ${req.method} is not allowed at ${url.pathname}`, {}, {
        allow: "GET, HEAD, OPTIONS",
      });
    }
    if (open) parseQuery(url, noQuery);
    switch (open) {
      case "healthz": {
        const ok = await gate.answers();
        return [Response.json({ ok, redis: redis.status }, { status: ok ? 200 : 503 }), "healthz"];
      }
      case "openapi":
        openapi ??= new TextEncoder().encode(JSON.stringify(openApiDocument(keyMode), null, 2));
        return [await withEtag(req, openapi, "application/json", 3600), "openapi"];
      case "docs":
        docs ??= new TextEncoder().encode(docsPage());
        return [await withEtag(req, docs, "text/html; charset=utf-8", 3600), "docs"];
    }
    const route = ROUTES.find(([re]) => re.test(url.pathname));
    if (!route) throw new HttpError(404, `No endpoint at ${url.pathname}: see /docs`);
    const [re, name, method] = route;
    if (reads !== (method === "GET")) {
      const allow = method === "POST" ? "POST, OPTIONS" : "GET, HEAD, OPTIONS";
      throw new HttpError(405, `Method ${req.method} is not allowed at ${url.pathname}`, {}, {
        allow,
      });
    }
    if (!gate.open) throw storeUnavailable();
    const limits = await admit(req, ip);
    const res = await routes[name](req, url, pathParams(url.pathname.match(re)!), ip);
    for (const [k, v] of Object.entries(limits)) res.headers.set(k, v);
    // Only key holders get answers then: no shared cache may keep one for others.
    if (keyMode === "required") keepPrivate(res.headers);
    return [res, name];
  }

  /**
   * SHA-256 (hex) of a presented key. The same few keys (the site's above all) come with
   * nearly every request, so their hashes are kept, within bounds; a flood of wrong keys
   * only pushes out the least used.
   */
  const hashes = new BoundedMap<string, string>({
    ...KEY_HASHES,
    sizeOf: (token, hash) => stringBytes(token) + stringBytes(hash),
  });
  async function hashOf(token: string): Promise<string> {
    let hash = hashes.get(token);
    if (hash === undefined) {
      const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token));
      hash = Buffer.from(digest).toString("hex");
      hashes.set(token, hash);
    }
    return hash;
  }

  /**
   * A 401, or a 429 once the address has failed more than FART_AUTH_FAILURES_PER_IP times a
   * minute: keys cannot be guessed at the speed of the network. Valid keys cost no count.
   */
  async function unauthorized(ip: string, message: string): Promise<never> {
    metrics.authFailures.inc();
    const decision = await limiter.take(`authfail:${ip}`, config.FART_AUTH_FAILURES_PER_IP);
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

  /** Checks the API key and takes one request from the caller's allowance. */
  async function admit(req: Request, ip: string): Promise<Record<string, string>> {
    const auth = req.headers.get("authorization");
    let client = `ip:${ip}`;
    let perMinute = config.FART_RATE_PER_IP;
    let keyName = "";
    if (keyMode === "required" || auth) {
      const token = auth?.match(/^Bearer\s+(\S+)$/i)?.[1];
      if (!token) {
        return await unauthorized(ip, "An API key is needed: send Authorization: Bearer <key>");
      }
      // Longer than any key: refused without hashing it or keeping anything.
      const hash = token.length <= MAX_KEY_CHARS ? await hashOf(token) : "";
      const name = keys.get(hash);
      if (name === undefined) return await unauthorized(ip, "The API key is not valid");
      client = `key:${hash.slice(0, 32)}`;
      keyName = name;
      perMinute = config.FART_RATE_PER_KEY;
    }
    const decision = await limiter.take(client, perMinute);
    const headers = rateHeaders(decision);
    metrics.byKey.inc({ key: keyName });
    if (!decision.allowed) {
      metrics.rateLimited.inc();
      throw new HttpError(
        429,
        `Too many requests: ${perMinute} a minute are allowed, try again in ${decision.retryAfterSeconds} s`,
        {},
        headers,
      );
    }
    return headers;
  }

  return {
    metrics,
    cache,
    keyHashes: () => ({ entries: hashes.size, bytes: hashes.bytes }),
    png,
    close: () => png.close(),
    async fetch(req, info) {
      const t0 = performance.now();
      const ip = clientIp(
        req.headers.get("x-forwarded-for"),
        info?.remoteAddr.hostname ?? "unknown",
        config.FART_TRUST_PROXY ? config.FART_TRUSTED_PROXIES : 0,
      );
      let res: Response, route = "error";
      try {
        [res, route] = await handle(req, ip);
      } catch (err) {
        const away = gate.unavailable(err);
        if (!(err instanceof HttpError) && !away) {
          log.error("Request failed", { url: req.url, err });
        }
        res = errorResponse(away ?? err);
      }
      for (const [k, v] of Object.entries(CORS_HEADERS)) res.headers.set(k, v);
      metrics.requests.with({ route, status: String(res.status) }).inc();
      metrics.latency.observe((performance.now() - t0) / 1000);
      return res;
    },
  };
}

/** A route's path parameters, each decoded once (400 for malformed percent-encoding). */
export type PathParams = readonly string[];

function pathParams(m: RegExpMatchArray): PathParams {
  return m.map((part) => part === undefined ? part : decodePathPart(part));
}

/** A DID path parameter (decoded already), or a 400. */
export function didParam(did: string): string {
  if (!isValidDid(did)) throw badParameter("did", did, "is not a DID");
  return did;
}
