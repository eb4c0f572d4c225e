/** The site's configuration (documented in .env.example). */
import { env, type EnvSource, listenEnv, loadConfig } from "@bsky/shared/config";
import { connectionLimitsEnv } from "@bsky/shared/http_server";
import { LOG_LEVELS } from "@bsky/shared/log";

export const siteEnv = {
  LOG_LEVEL: env.oneOf(LOG_LEVELS, "info"),
  ...listenEnv,
  SITE_PORT: env.int(8080, { min: 0, max: 65535 }),
  /**
   * Time limits of a visitor's connection: its first request's headers, each request until
   * its answer is sent, and the wait for the next request's headers after an answer.
   */
  ...connectionLimitsEnv("SITE"),
  /** The API every page reads from; the browser never talks to it directly. */
  FART_URL: env.url("http://127.0.0.1:8000", ["http", "https"]),
  /** The site's own API key, sent as `Authorization: Bearer`; unset: no key is sent. */
  SITE_FART_KEY: env.string(""),
  /**
   * API calls a minute that one visitor (by IP) may cause; answers from the site's memory
   * cost none. Past it the visitor gets 429: no one visitor can use up the site's API key.
   */
  SITE_RATE_PER_IP: env.int(120, { min: 1 }),
  /**
   * Behind reverse proxies: take the visitor's IP from X-Forwarded-For, as the outermost of
   * SITE_TRUSTED_PROXIES proxies appended it (never the first entry, which the client writes).
   */
  SITE_TRUST_PROXY: env.bool(false),
  /** How many reverse proxies in front of the site append to X-Forwarded-For. */
  SITE_TRUSTED_PROXIES: env.int(1, { min: 1, max: 16 }),
  /** How long the site keeps an API answer in memory. */
  SITE_CACHE_SECONDS: env.int(30, { min: 0, max: 3600 }),
  /**
   * The site's public origin (https://circles.example), for absolute share-card URLs.
   * Unset: taken from each request.
   */
  SITE_PUBLIC_URL: env.string(""),
};

export type SiteConfig = ReturnType<typeof loadSiteConfig>;

export function loadSiteConfig(source?: EnvSource) {
  const config = loadConfig(siteEnv, source);
  if (config.SITE_PUBLIC_URL) {
    // Same rules as the URL variables, without making it required.
    loadConfig({ SITE_PUBLIC_URL: env.url(undefined, ["http", "https"]) }, source);
    config.SITE_PUBLIC_URL = config.SITE_PUBLIC_URL.replace(/\/+$/, "");
  }
  return config;
}
