import type { Clock } from "@bsky/shared/clock";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { brotliDecompressSync } from "node:zlib";
import { encodeEvent, EVENT_VERSION } from "@bsky/shared/events";
import { firehoseKeys, JOB_NAMES, jobKeys, statsKeys } from "@bsky/shared/keys";
import { createLogger } from "@bsky/shared/log";
import { connectRedis, type Redis } from "@bsky/shared/redis";
import { startRedisServer } from "@bsky/shared/testing/redis_server";
import { Applier } from "@bsky/store/apply";
import { HOUR_MS, storeKeys } from "@bsky/store/layout";
import { created, nextSeq } from "@bsky/shared/testing/events";
import { type App, createApp, KEY_HASHES, MAX_URL_CHARS } from "./app.ts";
import { LOCAL_BYTES } from "./cache.ts";
import { PARSED_PER_SCHEMA, parsedQueries } from "./http.ts";
import { circlesQuery } from "./schemas.ts";
import { AVATAR_CID, RED_PNG, startStandInNetwork } from "./testing/stand_in.ts";
import { loadFartConfig } from "./config.ts";

const A = "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa";
const B = "did:plc:bbbbbbbbbbbbbbbbbbbbbbbb";
const C = "did:plc:cccccccccccccccccccccccc";
const D = "did:plc:dddddddddddddddddddddddd";
const T0 = Date.now();
const commit = (did: string, collection: string, rkey: string, extra: object) =>
  created(did, collection, rkey, extra, T0);

interface Ctx {
  redis: Redis;
  app: App;
  applier: Applier;
  get(path: string, init?: RequestInit): Promise<Response>;
  cdnHits: () => number;
}

/**
 * The API over a real redis-server holding what the real applier wrote. The identity
 * network and the avatar CDN are small local servers here (the end-to-end test uses a
 * real PDS and PLC for both).
 */
async function withApi(
  env: Record<string, string>,
  fn: (ctx: Ctx) => Promise<void>,
  clock?: Clock,
) {
  await using server = await startRedisServer();
  const redis = await connectRedis(server.url, { name: "test" });
  await using net = startStandInNetwork();
  const base = net.url;
  const config = loadFartConfig((n) =>
    ({
      REDIS_URL: server.url,
      FART_HANDLE_RESOLVER_URL: base,
      FART_PLC_URL: base,
      FART_AVATAR_CDN_URL: base,
      ...env,
    })[n]
  );
  const app = createApp({ redis, config, log: createLogger("fart", { write: () => {} }), clock });
  try {
    const applier = new Applier(redis, { retentionDays: 30, memoryHours: 48 });
    await applier.apply([
      { v: 1, kind: "identity", seq: nextSeq(), time: T0, did: A, handle: "alice.test" },
      { v: 1, kind: "identity", seq: nextSeq(), time: T0, did: B, handle: "bob.test" },
      { v: 1, kind: "identity", seq: nextSeq(), time: T0, did: C, handle: "carol.test" },
      { v: 1, kind: "identity", seq: nextSeq(), time: T0, did: D, handle: "dan.test" },
      commit(B, "app.bsky.actor.profile", "self", { displayName: "Bob <B>", avatar: AVATAR_CID }),
      commit(A, "app.bsky.feed.like", "l1", { subject: B }),
      commit(A, "app.bsky.feed.like", "l2", { subject: B }),
      commit(A, "app.bsky.feed.post", "p1", { parent: C }),
      commit(B, "app.bsky.feed.like", "l3", { subject: A }),
      {
        v: 1,
        kind: "account",
        seq: nextSeq(),
        time: T0,
        did: D,
        active: false,
        status: "takendown",
      },
    ]);
    await fn({
      redis,
      app,
      applier,
      get: (path, init) =>
        app.fetch(new Request(`http://api.test${path}`, init), {
          remoteAddr: { hostname: "192.0.2.1" },
        }),
      cdnHits: net.avatarHits,
    });
  } finally {
    app.close();
    redis.disconnect();
  }
}

Deno.test("GET /v1/interactions ranks counterparts with counts, profiles and the window", async () => {
  await withApi({}, async ({ get }) => {
    const res = await get("/v1/interactions/@alice.test?direction=sent&window=24h");
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("access-control-allow-origin"), "*");
    const body = await res.json();
    assert.deepEqual(body.actor, { did: A, handle: "alice.test", displayName: null, avatar: null });
    assert.equal(body.window, "24h");
    assert.equal(new Date(body.to).getTime() - new Date(body.from).getTime(), 24 * HOUR_MS);
    assert.deepEqual(
      body.items.map((i: Record<string, unknown>) => [i.handle, i.like, i.reply, i.score]),
      [["carol.test", 0, 1, 3], ["bob.test", 2, 0, 2]],
    );
    assert.equal(body.items[1].displayName, "Bob <B>");
    assert.equal(body.items[1].avatar, `/v1/avatar/${B}`);
    const byDid = await (await get(`/v1/interactions/${A}?direction=mutual`)).json();
    assert.deepEqual(byDid.items.map((i: { did: string }) => i.did), [B]);
  });
});

Deno.test("the API's windows end in the hour of its clock: a day on, the likes have left the 24 h window and not the 7 d one", async () => {
  const later = T0 + 25 * HOUR_MS;
  await withApi({}, async ({ get }) => {
    const day = await (await get("/v1/interactions/@alice.test?direction=sent&window=24h")).json();
    assert.equal(new Date(day.to).getTime(), (Math.floor(later / HOUR_MS) + 1) * HOUR_MS);
    assert.deepEqual(day.items, []);
    const week = await (await get("/v1/interactions/@alice.test?direction=sent&window=7d")).json();
    assert.deepEqual(week.items.map((i: { handle: string }) => i.handle), [
      "carol.test",
      "bob.test",
    ]);
  }, { now: () => later });
});

Deno.test("wrong parameters get a 400 naming the parameter", async () => {
  await withApi({}, async ({ get }) => {
    for (
      const [path, parameter] of [
        ["/v1/interactions/alice.test?window=31d", "window"],
        ["/v1/interactions/alice.test?window=soon", "window"],
        ["/v1/interactions/alice.test?limit=0", "limit"],
        ["/v1/interactions/alice.test?limit=ten", "limit"],
        ["/v1/interactions/alice.test?direction=up", "direction"],
        ["/v1/interactions/alice.test?colour=red", "colour"],
        ["/v1/interactions/not_a_handle!", "actor"],
        ["/v1/interactions/did:nope", "actor"],
        ["/v1/circles/alice.test?rings=4", "rings"],
        ["/v1/circles/alice.test.png?width=800", "width"],
        ["/v1/circles/alice.test.svg?bg=blue", "bg"],
        ["/v1/stats/top?metric=likes", "metric"],
        ["/v1/actors/search?q=", "q"],
        ["/v1/avatar/alice", "did"],
      ]
    ) {
      const res = await get(path);
      assert.equal(res.status, 400, path);
      const body = await res.json();
      assert.equal(body.parameter, parameter, path);
      assert.match(body.message, new RegExp(`"${parameter}"`), path);
    }
  });
});

Deno.test("unknown, hidden and unseen accounts get 404 or 410 with a message", async () => {
  await withApi({}, async ({ get }) => {
    const unknown = await get("/v1/interactions/nobody.test");
    assert.equal(unknown.status, 404);
    assert.match((await unknown.json()).message, /No account has the handle "nobody.test"/);
    const unseen = await get("/v1/interactions/did:plc:zzzzzzzzzzzzzzzzzzzzzzzz");
    assert.equal(unseen.status, 404);
    const hidden = await get("/v1/interactions/dan.test");
    assert.equal(hidden.status, 410);
    assert.match((await hidden.json()).message, /takendown/);
    assert.equal((await get("/v1/nothing")).status, 404);
    assert.equal((await get("/v1/interactions/alice.test", { method: "POST" })).status, 405);
  });
});

Deno.test("answers carry an ETag and a matching If-None-Match gets 304", async () => {
  await withApi({}, async ({ get }) => {
    const first = await get("/v1/interactions/alice.test");
    const etag = first.headers.get("etag")!;
    assert.match(etag, /^"[\w-]+"$/);
    await first.body?.cancel();
    const again = await get("/v1/interactions/alice.test", { headers: { "if-none-match": etag } });
    assert.equal(again.status, 304);
    assert.equal(await again.text(), "");
    const preflight = await get("/v1/interactions/alice.test", { method: "OPTIONS" });
    assert.equal(preflight.status, 204);
    assert.match(preflight.headers.get("access-control-allow-headers")!, /authorization/);
  });
});

Deno.test("concurrent requests for the same uncached answer compute it once", async () => {
  await withApi({}, async ({ app, get }) => {
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => get("/v1/circles/alice.test").then((r) => r.json())),
    );
    assert.ok(answers.every((a) => JSON.stringify(a) === JSON.stringify(answers[0])));
    assert.equal(app.cache.misses, 1, "computed once");
    assert.equal(app.cache.hits, 0, "the others shared the computation, not the cache");
    const metrics = await app.metrics.registry.render();
    assert.match(metrics, /fart_requests_total\{route="circles",status="200"\} 20/);
  });
});

Deno.test("API keys: none or a wrong one gets 401, a valid one passes; keys are stored hashed", async () => {
  const key = "k-" + crypto.randomUUID();
  const hash = Buffer.from(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key)),
  ).toString("hex");
  await withApi({ FART_API_KEYS: `site:${hash}` }, async ({ get }) => {
    const none = await get("/v1/actors/search?q=al");
    assert.equal(none.status, 401);
    assert.equal(none.headers.get("www-authenticate"), "Bearer");
    await none.body?.cancel();
    const wrong = await get("/v1/actors/search?q=al", { headers: { authorization: "Bearer x" } });
    assert.equal(wrong.status, 401);
    await wrong.body?.cancel();
    const ok = await get("/v1/actors/search?q=al", { headers: { authorization: `Bearer ${key}` } });
    assert.equal(ok.status, 200);
    assert.deepEqual((await ok.json()).items.map((i: { handle: string }) => i.handle), [
      "alice.test",
    ]);
    assert.equal((await get("/healthz")).status, 200, "health needs no key");
  });
});

Deno.test("optional keys: callers without one are limited per IP, a key holder per key", async () => {
  const key = "k-" + crypto.randomUUID();
  const hash = Buffer.from(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key)),
  ).toString("hex");
  const env = {
    FART_API_KEYS: `site:${hash}`,
    FART_KEYS_OPTIONAL: "true",
    FART_RATE_PER_IP: "2",
    FART_RATE_PER_KEY: "5",
  };
  await withApi(env, async ({ app, get }) => {
    const anonymous: number[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await get("/v1/actors/search?q=al");
      anonymous.push(res.status);
      await res.body?.cancel();
    }
    assert.deepEqual(anonymous, [200, 200, 429]);
    // The key holder, from the same address, has an allowance of its own.
    const site = await get("/v1/actors/search?q=al", {
      headers: { authorization: `Bearer ${key}` },
    });
    assert.equal(site.status, 200);
    assert.equal(site.headers.get("ratelimit-limit"), "5");
    await site.body?.cancel();
    const wrong = await get("/v1/actors/search?q=al", { headers: { authorization: "Bearer x" } });
    assert.equal(wrong.status, 401, "a wrong key is refused, not served as anonymous");
    await wrong.body?.cancel();
    const metrics = await app.metrics.registry.render();
    assert.match(metrics, /fart_key_requests_total\{key="site"\} 1\n/);
    assert.match(metrics, /fart_key_requests_total\{key=""\} 3\n/);
  });
});

Deno.test("opting out: a code for the account, posted by it, hides it with a 410 of its own; opting in shows it again", async () => {
  await withApi({ FART_CACHE_SECONDS: "1" }, async ({ get, applier }) => {
    const post = (path: string) => get(path, { method: "POST" });
    const asked = await post("/v1/optout/@alice.test");
    assert.equal(asked.status, 201);
    assert.equal(asked.headers.get("cache-control"), "no-store");
    const code = await asked.json();
    assert.equal(code.did, A);
    assert.equal(code.handle, "alice.test");
    assert.equal(code.action, "out");
    assert.equal(code.state, "waiting");
    assert.match(code.code, /^[A-HJ-NP-Z2-9]{8}$/);
    assert.equal(code.text, `circles-out-${code.code}`);
    const left = new Date(code.expiresAt).getTime() - Date.now();
    assert.ok(left > 3500_000 && left <= 3600_000, "codes last an hour");
    const other = await (await post("/v1/optout/alice.test")).json();
    assert.notEqual(other.code, code.code, "each ask gets its own code");

    // Bob posting Alice's code does nothing; Alice posting it hides her.
    const text = (did: string, rkey: string, opt: string) =>
      commit(did, "app.bsky.feed.post", rkey, { chars: 20, opt });
    await applier.apply([text(B, "o1", `out:${code.code}`)]);
    assert.equal((await (await get(`/v1/optout/codes/${code.code}`)).json()).state, "waiting");
    await applier.apply([text(A, "o2", `out:${code.code}`)]);
    const state = await get(`/v1/optout/codes/${code.code.toLowerCase()}`);
    assert.equal(state.status, 200);
    assert.deepEqual(
      { ...await state.json(), expiresAt: undefined },
      { ...code, state: "done", expiresAt: undefined },
    );
    await new Promise((r) => setTimeout(r, 1100)); // cached answers expire
    const gone = await get("/v1/interactions/alice.test");
    assert.equal(gone.status, 410);
    assert.match((await gone.json()).message, /has opted out/);
    const bob = await (await get("/v1/interactions/bob.test?direction=received")).json();
    assert.deepEqual(bob.items, []);
    assert.deepEqual((await (await get("/v1/actors/search?q=al")).json()).items, []);

    // Opting back in works the same way, for an account that is hidden.
    const back = await (await post("/v1/optout/alice.test?action=in")).json();
    assert.equal(back.text, `circles-in-${back.code}`);
    await applier.apply([text(A, "o3", `in:${back.code}`)]);
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal((await get("/v1/interactions/alice.test")).status, 200);

    // Wrong parameters, unknown accounts and codes, and the wrong methods.
    const bad = await post("/v1/optout/alice.test?action=maybe");
    assert.equal(bad.status, 400);
    assert.match((await bad.json()).message, /"action": "maybe" is not out or in/);
    assert.equal((await post("/v1/optout/nobody.test")).status, 404);
    assert.equal((await post("/v1/optout/not a handle")).status, 400);
    assert.equal((await get("/v1/optout/codes/ZZZZZZZZ")).status, 404);
    assert.equal((await get("/v1/optout/codes/nope")).status, 400);
    const getOptout = await get("/v1/optout/alice.test");
    assert.equal(getOptout.status, 405);
    assert.equal(getOptout.headers.get("allow"), "POST, OPTIONS");
    assert.equal((await post(`/v1/optout/codes/${code.code}`)).status, 405);
  });
});

Deno.test("the rate limit answers 429 with Retry-After and RateLimit headers", async () => {
  await withApi({ FART_RATE_PER_IP: "3" }, async ({ get }) => {
    const seen: number[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await get("/v1/actors/search?q=bo");
      seen.push(res.status);
      assert.equal(res.headers.get("ratelimit-limit"), "3");
      if (res.status === 429) {
        assert.ok(Number(res.headers.get("retry-after")) >= 1);
        assert.equal(res.headers.get("ratelimit-remaining"), "0");
        assert.match((await res.json()).message, /Too many requests/);
      } else await res.body?.cancel();
    }
    assert.deepEqual(seen, [200, 200, 200, 429]);
  });
});

Deno.test("GET /v1/actors/search finds handles by prefix and leaves hidden accounts out", async () => {
  await withApi({}, async ({ get }) => {
    const body = await (await get("/v1/actors/search?q=@b")).json();
    assert.deepEqual(body.items, [{
      did: B,
      handle: "bob.test",
      displayName: "Bob <B>",
      avatar: `/v1/avatar/${B}`,
    }]);
    assert.deepEqual((await (await get("/v1/actors/search?q=da")).json()).items, []);
  });
});

Deno.test("GET /v1/stats/top serves the latest snapshot with profiles, 404 before one exists", async () => {
  await withApi({}, async ({ redis, get }) => {
    const missing = await get("/v1/stats/top?metric=likes_received");
    assert.equal(missing.status, 404);
    assert.match((await missing.json()).message, /not computed yet/);
    await redis.set(
      statsKeys.top("24h", "likes_received"),
      JSON.stringify({
        metric: "likes_received",
        window: "24h",
        computedAt: T0,
        items: [{ did: B, count: 2 }, { did: D, count: 1 }, { did: A, count: 1 }],
      }),
    );
    const body = await (await get("/v1/stats/top?metric=likes_received&window=24h")).json();
    assert.equal(body.computedAt, new Date(T0).toISOString());
    assert.deepEqual(
      body.items.map((i: { handle: string; count: number }) => [i.handle, i.count]),
      [
        ["bob.test", 2],
        ["alice.test", 1],
      ],
    );
  });
});

Deno.test("GET /v1/stats/live reports rate, lag, collections and accounts from the streams", async () => {
  await withApi({}, async ({ redis, get }) => {
    const now = Date.now();
    for (let i = 0; i < 10; i++) {
      const e = commit(
        i % 2 ? A : B,
        i < 6 ? "app.bsky.feed.like" : "app.bsky.feed.post",
        `r${i}`,
        {
          subject: C,
        },
      );
      await redis.xadd(
        firehoseKeys.stream(0),
        `${now - 10_000 + i * 1000}-0`,
        "v",
        String(EVENT_VERSION),
        "e",
        encodeEvent(e),
      );
    }
    const body = await (await get("/v1/stats/live")).json();
    assert.equal(body.sampledEvents, 10);
    assert.equal(body.activeAccounts, 2);
    // Rates are over the last minute (fart/live.ts).
    assert.ok(Math.abs(body.eventsPerSecond - 10 / 60) < 1e-9);
    assert.ok(Math.abs(body.byCollection["app.bsky.feed.like"] - 6 / 60) < 1e-9);
    assert.ok(body.lagSeconds >= 1 && body.lagSeconds < 30);
  });
});

Deno.test("GET /v1/stats/jobs reports each job's last run, and never for a job that did not run", async () => {
  await withApi({}, async ({ redis, get }) => {
    const t = Date.now();
    await redis.hset(jobKeys.status("top"), {
      job: "top",
      startedAt: t - 1500,
      endedAt: t,
      durationMs: 1500,
      outcome: "failed",
      error: "Boom",
      lastSuccessAt: t - 300_000,
      details: "{}",
    });
    await redis.hset(jobKeys.status("counters"), {
      outcome: "ok",
      startedAt: t,
      durationMs: 12,
      error: "",
      lastSuccessAt: t,
      details: '{"hoursWritten":2}',
    });
    const body = await (await get("/v1/stats/jobs")).json();
    const byJob = Object.fromEntries(body.jobs.map((j: { job: string }) => [j.job, j]));
    assert.deepEqual(Object.keys(byJob), [...JOB_NAMES]);
    assert.equal(byJob.top.outcome, "failed");
    assert.equal(byJob.top.error, "Boom");
    assert.equal(byJob.top.durationMs, 1500);
    assert.equal(byJob.top.lastSuccessAt, new Date(t - 300_000).toISOString());
    assert.equal(byJob.counters.outcome, "ok");
    assert.deepEqual(byJob.counters.details, { hoursWritten: 2 });
    assert.equal(byJob.sweep.outcome, "never");
  });
});

Deno.test("GET /v1/avatar proxies the CDN's image once, then from the cache", async () => {
  await withApi({}, async ({ get, cdnHits }) => {
    const res = await get(`/v1/avatar/${B}`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "image/png");
    assert.deepEqual(new Uint8Array(await res.arrayBuffer()), RED_PNG);
    await (await get(`/v1/avatar/${B}`)).body?.cancel();
    assert.equal(cdnHits(), 1);
    const none = await get(`/v1/avatar/${A}`);
    assert.equal(none.status, 404);
    await none.body?.cancel();
  });
});

Deno.test("circles come as a JSON layout, an SVG with the people, and a PNG", async () => {
  await withApi({}, async ({ get }) => {
    const layout = await (await get("/v1/circles/alice.test?rings=1&direction=both")).json();
    assert.equal(layout.actor.handle, "alice.test");
    assert.equal(Date.parse(layout.to) - Date.parse(layout.from), 30 * 24 * HOUR_MS);
    assert.equal(Date.parse(layout.to) % HOUR_MS, 0, "whole hours");
    assert.ok(Date.parse(layout.to) > Date.now());
    assert.deepEqual(layout.rings[0].people.map((p: { handle: string }) => p.handle).sort(), [
      "bob.test",
      "carol.test",
    ]);
    const svg = await (await get("/v1/circles/alice.test.svg?bg=102030")).text();
    assert.match(svg, /^<svg|<\?xml/);
    assert.match(svg, /bob\.test/);
    assert.match(svg, /#102030/);
    assert.match(svg, /data:image\/png;base64,/, "Bob's avatar is embedded");
    const png = await get("/v1/circles/alice.test.png?width=600");
    assert.equal(png.headers.get("content-type"), "image/png");
    const bytes = new Uint8Array(await png.arrayBuffer());
    assert.deepEqual([...bytes.subarray(1, 4)], [0x50, 0x4e, 0x47]);
  });
});

Deno.test("/openapi.json describes every endpoint and /docs lists them", async () => {
  await withApi({}, async ({ get }) => {
    const doc = await (await get("/openapi.json")).json();
    assert.equal(doc.openapi, "3.1.0");
    for (
      const path of [
        "/v1/interactions/{actor}",
        "/v1/circles/{actor}.png",
        "/v1/stats/top",
        "/v1/stats/live",
        "/v1/stats/jobs",
        "/v1/actors/search",
        "/v1/avatar/{did}",
      ]
    ) assert.ok(doc.paths[path], path);
    const window = doc.paths["/v1/interactions/{actor}"].get.parameters.find((
      p: { name: string },
    ) => p.name === "window");
    assert.deepEqual([window.required, window.schema.type, window.schema.default], [
      false,
      "string",
      "7d",
    ]);
    assert.equal(doc.security, undefined, "no keys are configured");
    const page = await (await get("/docs")).text();
    assert.match(page, /\/v1\/circles\/\{actor\}\.svg/);
    const posted = await get("/healthz", { method: "POST" });
    assert.equal(posted.status, 405, "the open routes only read");
    assert.equal(posted.headers.get("allow"), "GET, HEAD, OPTIONS");
  });
});

const sha256 = async (key: string) =>
  Buffer.from(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key)))
    .toString("hex");

Deno.test("with API keys required answers say Cache-Control: private, so no shared cache hands them to others; open or with optional keys they stay public", async () => {
  const key = "k-" + crypto.randomUUID();
  const hash = await sha256(key);
  const auth = { authorization: `Bearer ${key}` };
  const cacheControl = async (
    get: Ctx["get"],
    path: string,
    headers: Record<string, string> = {},
  ) => {
    const res = await get(path, { headers });
    await res.body?.cancel();
    const etag = res.headers.get("etag")!;
    const again = await get(path, { headers: { ...headers, "if-none-match": etag } });
    assert.equal(again.status, 304, path);
    assert.equal(again.headers.get("cache-control"), res.headers.get("cache-control"), path);
    return res.headers.get("cache-control");
  };
  await withApi({ FART_API_KEYS: `site:${hash}` }, async ({ get }) => {
    for (const path of ["/v1/interactions/alice.test", `/v1/avatar/${B}`, "/v1/stats/jobs"]) {
      assert.equal(
        await cacheControl(get, path, auth),
        "private, max-age=" + (
          path.startsWith("/v1/avatar") ? 86400 : 60
        ),
        path,
      );
    }
    // Open to anyone: a shared cache may keep it.
    assert.equal(await cacheControl(get, "/openapi.json"), "public, max-age=3600");
    const doc = await (await get("/openapi.json")).json();
    assert.deepEqual(doc.security, [{ bearer: [] }]);
  });
  await withApi({ FART_API_KEYS: `site:${hash}`, FART_KEYS_OPTIONAL: "true" }, async ({ get }) => {
    // Everyone gets the same answer, key or not: only the rate limit differs.
    assert.equal(
      await cacheControl(get, "/v1/interactions/alice.test", auth),
      "public, max-age=60",
    );
    assert.equal(await cacheControl(get, "/v1/interactions/alice.test"), "public, max-age=60");
    const doc = await (await get("/openapi.json")).json();
    assert.deepEqual(doc.security, [{ bearer: [] }, {}]);
  });
  await withApi({}, async ({ get }) => {
    assert.equal(await cacheControl(get, "/v1/interactions/alice.test"), "public, max-age=60");
  });
});

Deno.test("POST /v1/optout answers 201 with a Location where the code's state can be read", async () => {
  await withApi({}, async ({ get }) => {
    const asked = await get("/v1/optout/alice.test", { method: "POST" });
    assert.equal(asked.status, 201);
    const { code } = await asked.json();
    const location = asked.headers.get("location")!;
    assert.equal(location, `/v1/optout/codes/${code}`);
    assert.match(asked.headers.get("access-control-expose-headers")!, /\blocation\b/);
    const state = await get(location);
    assert.equal(state.status, 200);
    assert.equal((await state.json()).code, code);
  });
});

const gunzip = async (bytes: Uint8Array) =>
  new Uint8Array(
    await new Response(
      new Blob([bytes as Uint8Array<ArrayBuffer>]).stream()
        .pipeThrough(new DecompressionStream("gzip")),
    ).arrayBuffer(),
  );

Deno.test("answers come compressed with br or gzip as the client asks, and decompress to exactly the identity answer", async () => {
  await withApi({}, async ({ get }) => {
    for (
      const path of [
        "/v1/circles/alice.test.svg?rings=1",
        "/docs",
        "/openapi.json",
      ]
    ) {
      const plain = await get(path);
      const identity = new Uint8Array(await plain.arrayBuffer());
      assert.ok(identity.byteLength >= 1024, `${path} is big enough to compress`);
      assert.equal(plain.headers.get("content-encoding"), null, path);
      assert.equal(plain.headers.get("vary"), "Accept-Encoding", path);
      const etag = plain.headers.get("etag")!;
      assert.match(etag, /^"[\w-]+"$/, "the identity body's tag is strong");

      const asked = async (acceptEncoding: string, coding: string) => {
        const res = await get(path, { headers: { "accept-encoding": acceptEncoding } });
        assert.equal(res.status, 200);
        assert.equal(res.headers.get("content-encoding"), coding, `${path} ${acceptEncoding}`);
        assert.equal(res.headers.get("vary"), "Accept-Encoding");
        assert.equal(res.headers.get("etag"), `W/${etag}`, "another coding, a weak tag");
        assert.equal(res.headers.get("content-type"), plain.headers.get("content-type"));
        const body = new Uint8Array(await res.arrayBuffer());
        assert.ok(body.byteLength < identity.byteLength, `${path} ${coding} is smaller`);
        return body;
      };
      assert.deepEqual(await gunzip(await asked("gzip", "gzip")), identity, `${path} gzip`);
      const br = await asked("gzip, deflate, br", "br");
      assert.deepEqual(new Uint8Array(brotliDecompressSync(br)), identity, `${path} br`);
      assert.deepEqual(await gunzip(await asked("br;q=0.5, gzip", "gzip")), identity);
      assert.deepEqual(new Uint8Array(brotliDecompressSync(await asked("*", "br"))), identity);
      const none = await get(path, { headers: { "accept-encoding": "identity, br;q=0" } });
      assert.deepEqual(new Uint8Array(await none.arrayBuffer()), identity);

      // A copy in any coding is still fresh: 304, with the tag a 200 would carry.
      for (const tag of [etag, `W/${etag}`]) {
        const res = await get(path, {
          headers: { "accept-encoding": "br", "if-none-match": tag },
        });
        assert.equal(res.status, 304, `${path} ${tag}`);
        assert.equal(res.headers.get("etag"), `W/${etag}`);
        assert.equal(res.headers.get("vary"), "Accept-Encoding");
      }
      const head = await get(path, { method: "HEAD", headers: { "accept-encoding": "gzip" } });
      assert.equal(head.headers.get("content-encoding"), "gzip", "HEAD says what GET sends");
      assert.equal(await head.text(), "");
    }
  });
});

Deno.test("PNG images and small answers go uncompressed, without Vary", async () => {
  await withApi({}, async ({ get }) => {
    const headers = { "accept-encoding": "gzip, br" };
    for (
      const path of ["/v1/circles/alice.test.png", `/v1/avatar/${B}`, "/v1/actors/search?q=al"]
    ) {
      const res = await get(path, { headers });
      assert.equal(res.status, 200, path);
      assert.equal(res.headers.get("content-encoding"), null, path);
      assert.equal(res.headers.get("vary"), null, path);
      assert.match(res.headers.get("etag")!, /^"/, path);
      await res.body?.cancel();
    }
  });
});

Deno.test("a path with malformed percent-encoding is a 400 that says so, and a path part is decoded once", async () => {
  await withApi({}, async ({ get }) => {
    for (
      const [path, method] of [
        ["/v1/interactions/%zz", "GET"],
        ["/v1/circles/x%zz.svg", "GET"],
        ["/v1/circles/%E0%A4%A.png", "GET"],
        ["/v1/avatar/%zz", "GET"],
        ["/v1/optout/codes/%zz", "GET"],
        ["/v1/optout/%zz", "POST"],
      ]
    ) {
      const res = await get(path, { method });
      assert.equal(res.status, 400, path);
      assert.match((await res.json()).message, /is not valid percent-encoding/, path);
    }
    const once = await get("/v1/interactions/%40alice.test");
    assert.equal(once.status, 200);
    await once.body?.cancel();
    // "%2540" decodes to "%40", which is no handle: decoding it again would make it "@".
    const twice = await get("/v1/interactions/%2540alice.test");
    assert.equal(twice.status, 400);
    assert.equal((await twice.json()).parameter, "actor");
    const avatar = await get(`/v1/avatar/${encodeURIComponent(B)}`);
    assert.equal(avatar.status, 200);
    await avatar.body?.cancel();
  });
});

Deno.test("thousands of distinct long spellings of one query keep every cache within its bounds, and Redis holds one answer for them", async () => {
  await withApi({ FART_RATE_PER_IP: "100000" }, async ({ app, redis }) => {
    const fetchAs = (path: string, ip: string, init?: RequestInit) =>
      app.fetch(new Request(`http://api.test${path}`, init), { remoteAddr: { hostname: ip } });
    const order = ["rings=2", "direction=both", "bg=%230F172A", "date=1", "window=30d"];
    let first = "";
    for (let i = 0; i < 3000; i++) {
      // Empty pairs ("&&") are skipped by every query parser: each query here is distinct,
      // up to 3.5 KB long, and the same circles.
      const params = [...order.slice(i % 5), ...order.slice(0, i % 5)];
      const query = params.join("&".repeat(1 + (i % 700)));
      const res = await fetchAs(`/v1/circles/alice.test?${query}`, "192.0.2.1");
      assert.equal(res.status, 200, query.slice(0, 80));
      const body = await res.text();
      first ||= body;
      assert.equal(body, first);
    }
    const parsed = parsedQueries(circlesQuery);
    assert.ok(parsed.entries <= PARSED_PER_SCHEMA.maxEntries, `${parsed.entries} parsed queries`);
    assert.ok(
      parsed.bytes <= PARSED_PER_SCHEMA.maxBytes,
      `${parsed.bytes} bytes of parsed queries`,
    );
    assert.equal(app.cache.local.entries, 1, "one answer in the process");
    assert.ok(app.cache.local.bytes <= LOCAL_BYTES);
    assert.deepEqual(await redis.keys("fart:c:*"), [
      "fart:c:c:alice.test:json:bg=#0f172a&border=#38bdf8&credit=&date=true&direction=both&names=false&rings=2&sizes=8-15-26&window=720",
    ]);
    assert.equal(app.cache.misses, 1, "computed once");

    // A parameter given twice is refused; so is a path and query past the cap.
    const twice = await fetchAs("/v1/circles/alice.test?rings=1&rings=2", "192.0.2.1");
    assert.equal(twice.status, 400);
    assert.match((await twice.json()).message, /"rings": "2" is given more than once/);
    const long = await fetchAs(`/v1/circles/alice.test?${"&".repeat(MAX_URL_CHARS)}`, "192.0.2.1");
    assert.equal(long.status, 414);
    await long.body?.cancel();

    // Thousands of distinct wrong keys, each from its own address: the kept hashes stay bounded.
    for (let i = 0; i < 2000; i++) {
      const res = await fetchAs("/v1/actors/search?q=al", `198.18.${i >> 8}.${i & 255}`, {
        headers: { authorization: `Bearer ${String(i).padStart(256, "k")}` },
      });
      assert.equal(res.status, 401);
      await res.body?.cancel();
    }
    const hashes = app.keyHashes();
    assert.ok(hashes.entries <= KEY_HASHES.maxEntries, `${hashes.entries} key hashes`);
    assert.ok(hashes.bytes <= KEY_HASHES.maxBytes, `${hashes.bytes} bytes of key hashes`);
    const huge = await fetchAs("/v1/actors/search?q=al", "192.0.2.9", {
      headers: { authorization: `Bearer ${"k".repeat(3000)}` },
    });
    assert.equal(huge.status, 401, "a key longer than any key is refused without hashing");
    await huge.body?.cancel();
    assert.equal(app.keyHashes().entries, hashes.entries);
  });
});

Deno.test("an unknown query parameter is a 400 naming it on every endpoint, the open ones included", async () => {
  await withApi({ FART_RATE_PER_IP: "100000" }, async ({ get }) => {
    for (
      const [path, method] of [
        ["/v1/interactions/alice.test", "GET"],
        ["/v1/circles/alice.test", "GET"],
        ["/v1/circles/alice.test.svg", "GET"],
        ["/v1/circles/alice.test.png", "GET"],
        ["/v1/stats/top?metric=likes_received", "GET"],
        ["/v1/stats/live", "GET"],
        ["/v1/stats/jobs", "GET"],
        ["/v1/actors/search?q=al", "GET"],
        [`/v1/avatar/${B}`, "GET"],
        ["/v1/optout/codes/ABCDEFGH", "GET"],
        ["/v1/optout/alice.test", "POST"],
        ["/healthz", "GET"],
        ["/openapi.json", "GET"],
        ["/docs", "GET"],
      ]
    ) {
      const res = await get(`${path}${path.includes("?") ? "&" : "?"}x=1`, { method });
      assert.equal(res.status, 400, path);
      const body = await res.json();
      assert.equal(body.parameter, "x", path);
      assert.match(body.message, /"x": "1" is not a parameter of this endpoint/, path);
    }
    for (const name of ["__proto__", "constructor", "toString"]) {
      const res = await get(`/v1/interactions/alice.test?${name}=1`);
      assert.equal(res.status, 400, name);
      assert.equal((await res.json()).parameter, name);
    }
  });
});

Deno.test("behind trusted proxies the client is the address the outermost proxy appended to X-Forwarded-For, whatever the client wrote before it", async () => {
  const fromProxy = (app: App, forwardedFor: string) =>
    app.fetch(
      new Request("http://api.test/v1/actors/search?q=al", {
        headers: { "x-forwarded-for": forwardedFor },
      }),
      { remoteAddr: { hostname: "10.0.0.1" } },
    );
  await withApi({ FART_TRUST_PROXY: "true", FART_RATE_PER_IP: "5" }, async ({ app }) => {
    const seen: number[] = [];
    for (let i = 0; i < 20; i++) {
      // A new made-up first entry each time: with the first entry believed, none is limited.
      const res = await fromProxy(app, `198.18.0.${i}, 203.0.113.7`);
      seen.push(res.status);
      await res.body?.cancel();
    }
    assert.deepEqual(seen, [...Array(5).fill(200), ...Array(15).fill(429)]);
    const other = await fromProxy(app, "203.0.113.7, 203.0.113.8");
    assert.equal(other.status, 200, "another client behind the same proxy has its own allowance");
    await other.body?.cancel();
  });
  await withApi(
    { FART_TRUST_PROXY: "true", FART_TRUSTED_PROXIES: "2", FART_RATE_PER_IP: "5" },
    async ({ app }) => {
      const seen: number[] = [];
      for (let i = 0; i < 8; i++) {
        const res = await fromProxy(app, `198.18.0.${i}, 203.0.113.7, 10.0.0.2`);
        seen.push(res.status);
        await res.body?.cancel();
      }
      assert.deepEqual(seen, [200, 200, 200, 200, 200, 429, 429, 429]);
    },
  );
});

Deno.test("missing and wrong API keys from one address get 429 past FART_AUTH_FAILURES_PER_IP a minute, while a valid key and other addresses pass", async () => {
  const key = "k-" + crypto.randomUUID();
  const env = { FART_API_KEYS: `site:${await sha256(key)}`, FART_AUTH_FAILURES_PER_IP: "10" };
  await withApi(env, async ({ app }) => {
    const from = (ip: string, authorization?: string) =>
      app.fetch(
        new Request("http://api.test/v1/actors/search?q=al", {
          headers: authorization ? { authorization } : {},
        }),
        { remoteAddr: { hostname: ip } },
      );
    const seen = new Map<number, number>();
    for (let i = 0; i < 450; i++) {
      const res = await from("192.0.2.1", i % 3 ? `Bearer wrong-${i}` : undefined);
      seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
      if (res.status === 429) assert.ok(Number(res.headers.get("retry-after")) >= 1);
      await res.body?.cancel();
    }
    assert.deepEqual(Object.fromEntries(seen), { 401: 10, 429: 440 });
    const valid = await from("192.0.2.1", `Bearer ${key}`);
    assert.equal(valid.status, 200, "a valid key still passes from that address");
    await valid.body?.cancel();
    const other = await from("192.0.2.2", "Bearer wrong");
    assert.equal(other.status, 401, "another address has its own count");
    await other.body?.cancel();
    assert.equal(app.metrics.authFailures.get(), 451);
  });
});

Deno.test("opt codes are limited per account and per address: a burst for one account gets only its hourly allowance, whoever asks", async () => {
  const env = { FART_OPTOUT_CODES_PER_ACCOUNT: "3", FART_OPTOUT_CODES_PER_IP: "5" };
  await withApi(env, async ({ app, redis }) => {
    const ask = (actor: string, ip: string) =>
      app.fetch(new Request(`http://api.test/v1/optout/${actor}`, { method: "POST" }), {
        remoteAddr: { hostname: ip },
      });
    const burst = await Promise.all(
      Array.from({ length: 50 }, (_, i) => ask("carol.test", `198.18.0.${i}`)),
    );
    const statuses = burst.map((r) => r.status).sort();
    assert.deepEqual(statuses, [...Array(3).fill(201), ...Array(47).fill(429)]);
    for (const res of burst) await res.body?.cancel();
    const refused = burst.find((r) => r.status === 429)!;
    assert.ok(Number(refused.headers.get("retry-after")) >= 1);
    assert.equal((await redis.keys(storeKeys.optCode("*"))).length, 3, "three codes wait");

    // One address: its five codes an hour, over several accounts.
    const seen: number[] = [];
    for (
      const actor of ["alice.test", "alice.test", "bob.test", "bob.test", "dan.test", "bob.test"]
    ) {
      const res = await ask(actor, "192.0.2.1");
      seen.push(res.status);
      await res.body?.cancel();
    }
    assert.deepEqual(seen, [201, 201, 201, 201, 201, 429]);
    const message = await (await ask("alice.test", "192.0.2.1")).json();
    assert.match(message.message, /Too many opt codes for this address/);
  });
});
