/**
 * Test helpers: the site over the real API, in memory. A real redis-server holds what the
 * real applier wrote, the API's handler (fart's createApp) answers the site's requests
 * without a socket, and a small local server stands in for the avatar CDN and the handle
 * resolver (the browser test uses a real PDS and PLC instead).
 */
import { createLogger } from "@bsky/shared/log";
import { connectRedis, type Redis } from "@bsky/shared/redis";
import type { FirehoseEvent } from "@bsky/shared/events";
import { startRedisServer } from "@bsky/shared/testing/redis_server";
import { Applier } from "@bsky/store/apply";
import { createApp } from "@bsky/fart/app";
import { AVATAR_CID, startStandInNetwork } from "@bsky/fart/testing/stand_in";
import { created, nextSeq } from "@bsky/shared/testing/events";
export { RED_PNG } from "@bsky/fart/testing/stand_in";
import { loadFartConfig } from "../../fart/config.ts";
import { createSite, type Site } from "../app.ts";
import { loadSiteConfig } from "../config.ts";

export const ALICE = "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa";
export const BOB = "did:plc:bbbbbbbbbbbbbbbbbbbbbbbb";
export const CAROL = "did:plc:cccccccccccccccccccccccc";
export const DAN = "did:plc:dddddddddddddddddddddddd";
export const EVE = "did:plc:eeeeeeeeeeeeeeeeeeeeeeee";

export interface Stack {
  site: Site;
  redis: Redis;
  /** The site's handler, called like a browser would. */
  get(path: string, init?: RequestInit): Promise<Response>;
  /** Counts of requests the site made to the API. */
  apiCalls: string[];
  /** How the site reaches the API (recording into apiCalls). */
  apiFetch: typeof fetch;
}

const now = Date.now();
const commit = (did: string, collection: string, rkey: string, extra: object) =>
  created(did, collection, rkey, extra, now);

/** Alice likes Bob twice, replies to Carol, mentions Eve; Bob likes Alice; Dan is taken down. */
export const SEED: FirehoseEvent[] = [
  ...[[ALICE, "alice.test"], [BOB, "bob.test"], [CAROL, "carol.test"], [DAN, "dan.test"], [
    EVE,
    "eve.test",
  ]].map(([did, handle]) =>
    ({ v: 1, kind: "identity", seq: nextSeq(), time: now, did, handle }) as FirehoseEvent
  ),
  commit(ALICE, "app.bsky.actor.profile", "self", { displayName: "Alice <A>" }),
  commit(BOB, "app.bsky.actor.profile", "self", { displayName: "Bob", avatar: AVATAR_CID }),
  commit(ALICE, "app.bsky.feed.like", "l1", { subject: BOB }),
  commit(ALICE, "app.bsky.feed.like", "l2", { subject: BOB }),
  commit(ALICE, "app.bsky.feed.post", "p1", { parent: CAROL, root: CAROL }),
  commit(ALICE, "app.bsky.feed.post", "p2", { mentions: [EVE] }),
  commit(BOB, "app.bsky.feed.like", "l3", { subject: ALICE }),
  {
    v: 1,
    kind: "account",
    seq: nextSeq(),
    time: now,
    did: DAN,
    active: false,
    status: "takendown",
  },
];

export interface StackOptions {
  /** Replaces the way the site reaches the API (to simulate it being down). */
  apiFetch?: typeof fetch;
  siteEnv?: Record<string, string>;
}

export async function withStack(fn: (s: Stack) => Promise<void>, opts: StackOptions = {}) {
  await using server = await startRedisServer();
  const redis = await connectRedis(server.url, { name: "test" });
  await using net = startStandInNetwork();
  const base = net.url;
  const quiet = createLogger("test", { write: () => {} });
  const api = createApp({
    redis,
    config: loadFartConfig((n) =>
      ({
        REDIS_URL: server.url,
        FART_HANDLE_RESOLVER_URL: base,
        FART_PLC_URL: base,
        FART_AVATAR_CDN_URL: base,
        FART_RATE_PER_IP: "100000",
        // The stand-in network is on loopback, as a local PDS would be.
        FART_ALLOW_PRIVATE_NETWORK: "true",
      })[n]
    ),
    log: quiet,
  });
  const apiCalls: string[] = [];
  const apiFetch: typeof fetch = opts.apiFetch ?? ((input, init) => {
    const req = new Request(input, init);
    apiCalls.push(new URL(req.url).pathname + new URL(req.url).search);
    return api.fetch(req, { remoteAddr: { hostname: "127.0.0.1" } });
  });
  try {
    await new Applier(redis, { retentionDays: 30, memoryHours: 48 }).apply(SEED);
    const config = loadSiteConfig((n) => ({ FART_URL: "http://api.test", ...opts.siteEnv })[n]);
    const site = await createSite({ config, log: quiet, fetch: apiFetch });
    await fn({
      site,
      redis,
      apiCalls,
      apiFetch,
      get: (path, init) => site.fetch(new Request(`http://site.test${path}`, init)),
    });
  } finally {
    api.close();
    redis.disconnect();
  }
}

/** The JavaScript a page makes the browser load: its module script and every preload. */
export function pageScripts(html: string): string[] {
  const urls = [
    ...html.matchAll(/<script type="module" src="([^"]+)"/g),
    ...html.matchAll(/<link rel="modulepreload" href="([^"]+)"/g),
  ].map((m) => m[1]);
  return [...new Set(urls)];
}
