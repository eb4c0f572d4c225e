/**
 * Redis going away under a running API and site, as separate processes with the flags
 * `deno task start` gives them: killed and started again on its port, then stalled
 * (SIGSTOP) with its connections open and resumed. Meanwhile every answer comes within a
 * second, a 503 with Retry-After that shows nothing internal, /healthz says not ok; once
 * Redis is back the same processes answer 200 again.
 */
import assert from "node:assert/strict";
import { freePort, type RedisServer, startRedisServer } from "@bsky/shared/testing/redis_server";
import { settled } from "@bsky/shared/testing/settled";
import { spawnService } from "../testing/platform.ts";

/** The most an answer may take while Redis is away. */
const ANSWER_WITHIN_MS = 1000;

interface Answer {
  status: number;
  headers: Headers;
  body: string;
}

/** A GET that must be answered within ANSWER_WITHIN_MS. */
async function get(url: string): Promise<Answer> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(ANSWER_WITHIN_MS) });
    return { status: res.status, headers: res.headers, body: await res.text() };
  } catch (err) {
    throw new Error(`No answer from ${url} within ${ANSWER_WITHIN_MS} ms`, { cause: err });
  }
}

interface Urls {
  api: string;
  health: string;
  page: string;
}

/** What the API and the site answer while Redis is away, for a few seconds of requests. */
async function checkAway(urls: Urls) {
  const until = Date.now() + 3000;
  let asked = 0;
  while (Date.now() < until) {
    const api = await get(urls.api);
    assert.equal(api.status, 503, api.body);
    assert.ok(Number(api.headers.get("retry-after")) >= 1, "the API says when to retry");
    assert.equal(api.headers.get("cache-control"), "no-store");
    const body = JSON.parse(api.body);
    assert.deepEqual(Object.keys(body).sort(), ["error", "message"]);
    assert.equal(body.error, "ServiceUnavailable");
    assert.doesNotMatch(body.message, /redis|ioredis|timed out|ECONN|stream|127\.0\.0\.1|\bat /i);

    const health = await get(urls.health);
    assert.equal(health.status, 503, "/healthz is not ok while Redis is away");
    assert.equal(JSON.parse(health.body).ok, false);

    const page = await get(urls.page);
    assert.equal(page.status, 503, "the site's page");
    assert.ok(Number(page.headers.get("retry-after")) >= 1, "the site says when to retry");
    assert.doesNotMatch(page.body, /ioredis|timed out|ECONN|ServiceUnavailable/i);
    asked++;
  }
  assert.ok(asked >= 3, `asked ${asked} times`);
}

/** The API, its /healthz and the site all answer 200 again. */
async function checkBack(urls: Urls) {
  await settled(async () => {
    for (const url of [urls.api, urls.health, urls.page]) {
      const res = await get(url);
      assert.equal(res.status, 200, `${url}: ${res.body.slice(0, 200)}`);
    }
  }, 15_000);
}

async function withPlatform(fn: (redis: RedisServer, urls: Urls) => Promise<void>) {
  await using redis = await startRedisServer();
  const apiPort = freePort(), sitePort = freePort();
  const api = await spawnService("fart", {
    REDIS_URL: redis.url,
    FART_PORT: String(apiPort),
    FART_RATE_PER_IP: "1000000",
    LOG_LEVEL: "error",
  });
  const processes = [api];
  try {
    processes.push(
      await spawnService("site", {
        FART_URL: `http://127.0.0.1:${apiPort}`,
        SITE_PORT: String(sitePort),
        // Every page asks the API, so that it shows what the API says now; the test's many
        // page loads come from one address.
        SITE_CACHE_SECONDS: "0",
        SITE_RATE_PER_IP: "1000000",
        LOG_LEVEL: "error",
      }),
    );
    const urls = {
      api: `http://127.0.0.1:${apiPort}/v1/actors/search?q=alice`,
      health: `http://127.0.0.1:${apiPort}/healthz`,
      page: `http://127.0.0.1:${sitePort}/top`,
    };
    await checkBack(urls);
    await fn(redis, urls);
  } finally {
    for (const p of processes) {
      p.kill("SIGTERM");
      await p.status;
    }
  }
}

Deno.test("while Redis is killed the API and the site answer 503 with Retry-After within a second, and 200 once it runs again, with no restart", async () => {
  await withPlatform(async (redis, urls) => {
    await redis.kill();
    await checkAway(urls);
    await redis.start();
    await checkBack(urls);
  });
});

Deno.test("while Redis is stalled with its connections open the API and the site answer 503 within a second, and 200 once it resumes", async () => {
  await withPlatform(async (redis, urls) => {
    redis.signal("SIGSTOP");
    try {
      await checkAway(urls);
    } finally {
      redis.signal("SIGCONT");
    }
    await checkBack(urls);
  });
});
