/**
 * The about page states the platform's settings as the API's /v1/meta gives them: what the
 * indexer keeps (written to Redis when it starts), the score's weights and the windows. The
 * indexer, the API and the site are the real ones, over a real redis-server.
 */
import assert from "node:assert/strict";
import { createLogger } from "@bsky/shared/log";
import { connectRedis } from "@bsky/shared/redis";
import { freePort, startRedisServer } from "@bsky/shared/testing/redis_server";
import { startIndexer } from "@bsky/indexer/service";
import { loadIndexerConfig } from "@bsky/indexer/config";
import { createApp } from "@bsky/fart/app";
import { loadFartConfig } from "../../fart/config.ts";
import { createSite } from "../app.ts";
import { loadSiteConfig } from "../config.ts";

const quiet = createLogger("test", { write: () => {} });

interface Platform {
  /** The page's text, tags and spacing folded away, in English or Portuguese. */
  about(lang?: "en" | "pt"): Promise<string>;
  /** The API's own answer to /v1/meta. */
  meta(): Promise<Record<string, unknown>>;
  /** Paths the site asked the API for. */
  apiCalls: string[];
  /** Starts the real indexer with these settings, and stops it (it has written them). */
  runIndexer(env: Record<string, string>): Promise<void>;
}

/** Redis, the API and the site; the site reaches the API through `wrap` when given. */
async function withPlatform(
  fn: (p: Platform) => Promise<void>,
  opts: { siteEnv?: Record<string, string>; wrap?: (api: typeof fetch) => typeof fetch } = {},
) {
  await using server = await startRedisServer();
  const redis = await connectRedis(server.url, { name: "test" });
  const api = createApp({
    redis,
    config: loadFartConfig((n) => ({ REDIS_URL: server.url, FART_RATE_PER_IP: "100000" })[n]),
    log: quiet,
  });
  const apiFetch: typeof fetch = (input, init) =>
    api.fetch(new Request(input, init), { remoteAddr: { hostname: "127.0.0.1" } });
  const apiCalls: string[] = [];
  const recorded: typeof fetch = (input, init) => {
    apiCalls.push(new URL(new Request(input, init).url).pathname);
    return (opts.wrap ? opts.wrap(apiFetch) : apiFetch)(input, init);
  };
  try {
    const config = loadSiteConfig((n) => ({ FART_URL: "http://api.test", ...opts.siteEnv })[n]);
    const site = await createSite({ config, log: quiet, fetch: recorded });
    await fn({
      apiCalls,
      async about(lang = "en") {
        const res = await site.fetch(new Request(`http://site.test/about?lang=${lang}`));
        assert.equal(res.status, 200);
        const html = await res.text();
        const main = html.slice(html.indexOf('<article class="about">'));
        return main.replace(/<[^>]+>/g, " ").replace(/\s+/g, " ");
      },
      async meta() {
        const res = await apiFetch("http://api.test/v1/meta");
        assert.equal(res.status, 200);
        return await res.json();
      },
      async runIndexer(env) {
        const config = loadIndexerConfig((n) =>
          ({ REDIS_URL: server.url, INDEXER_METRICS_PORT: String(freePort()), ...env })[n]
        );
        const indexer = await startIndexer(config, quiet);
        await indexer.stop();
      },
    });
  } finally {
    api.close();
    redis.disconnect();
  }
}

Deno.test("/about states what the indexer keeps as it was started (INDEXER_RETENTION_DAYS=14), and the API's weights and windows, in both languages", async () => {
  await withPlatform(async ({ about, meta, runIndexer }) => {
    // Before the indexer has run, the API says what it keeps by default.
    const before = await about();
    assert.match(before, /Interactions are kept for 30 days and then dropped for good/);
    assert.match(before, /remembered for 48 hours, only so that a delete can be subtracted/);

    await runIndexer({ INDEXER_RETENTION_DAYS: "14", INDEXER_RECORD_MEMORY_HOURS: "36" });
    const said = await meta();
    assert.equal(said.retentionDays, 14);
    assert.equal(said.recordMemoryHours, 36);

    const en = await about();
    assert.match(en, /Interactions are kept for 14 days and then dropped for good/);
    assert.match(en, /remembered for 36 hours, only so that a delete can be subtracted/);
    assert.doesNotMatch(en, /30 days and then|48 hours/);
    assert.match(en, /Circles can show the last 24 hours, 7 days, or 30 days\./);
    const weights = said.weights as Record<string, number>;
    for (const type of ["like", "repost", "mention", "reply", "quote"]) {
      assert.match(en, new RegExp(` ${type}: ${weights[type]} `), `${type}'s weight`);
    }

    const pt = await about("pt");
    assert.match(pt, /As interações ficam guardadas por 14 dias e depois são apagadas de vez/);
    assert.match(pt, /fica guardado por 36 horas, só para que uma exclusão possa ser descontada/);
    assert.match(pt, /Os círculos podem cobrir um período de 24 horas, 7 dias ou 30 dias\./);
    assert.match(pt, new RegExp(` curtida: ${weights.like} `));
  }, { siteEnv: { SITE_CACHE_SECONDS: "0" } });
});

Deno.test("/about asks the API for its settings once while they are kept, and still answers without figures when the API cannot say", async () => {
  await withPlatform(async ({ about, apiCalls }) => {
    await about();
    await about("pt");
    assert.deepEqual(apiCalls, ["/v1/meta"], "kept for SITE_CACHE_SECONDS");
  });
  // The API away: the page is written without the figures it would state.
  await withPlatform(async ({ about }) => {
    const en = await about();
    assert.match(en, /Interactions are kept for a limited time and then dropped for good/);
    assert.match(en, /remembered for a short while/);
    assert.doesNotMatch(en, /\d+ (days|hours)|like: /);
    assert.match(await about("pt"), /guardadas por um tempo limitado/);
  }, { wrap: () => () => Promise.reject(new TypeError("Connection refused")) });
  // An answer that is not what the API promises is not printed.
  const odd = {
    retentionDays: "<b>14</b>",
    recordMemoryHours: 36,
    weights: { like: 1, repost: 2, reply: 3, quote: 3, mention: 2 },
    windows: ["24h", "<script>"],
    maxLimit: 100,
  };
  await withPlatform(async ({ about }) => {
    const en = await about();
    assert.match(en, /kept for a limited time/);
    assert.doesNotMatch(en, /<b>|script|36 hours/);
  }, { wrap: () => () => Promise.resolve(Response.json(odd)) });
});
