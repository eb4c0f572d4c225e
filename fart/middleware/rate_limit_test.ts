import assert from "node:assert/strict";
import { connectRedis } from "@bsky/shared/redis";
import { startRedisServer } from "@bsky/shared/testing/redis_server";
import { HttpError } from "../http.ts";
import { fartMetrics } from "../metrics.ts";
import { RateLimiter } from "../rate_limit.ts";
import { ctxOf } from "../testing/ctx.ts";
import { compose, type Middleware } from "./compose.ts";
import { rateLimit } from "./rate_limit.ts";

Deno.test("rateLimit: each address and each key has its own allowance a minute, every answer says what is left, and past it 429 with Retry-After", async () => {
  await using server = await startRedisServer();
  const redis = await connectRedis(server.url, { name: "test" });
  const metrics = fartMetrics();
  const asKey = (name: string): Middleware => (ctx, next) => {
    ctx.key = { name, hash: name.repeat(64).slice(0, 64) };
    return next();
  };
  const limit = rateLimit({ limiter: new RateLimiter(redis), perKey: 3, perIp: 2, metrics });
  const answer = () => Promise.resolve(new Response("ok"));
  const anonymous = compose([limit], answer);
  const partner = compose([asKey("a"), limit], answer);
  try {
    const seen: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await anonymous(ctxOf("/v1/x", {}, "192.0.2.1")).catch((e: HttpError) => e);
      if (res instanceof Response) {
        seen.push(
          `200 ${res.headers.get("ratelimit-limit")} ${res.headers.get("ratelimit-remaining")}`,
        );
      } else {
        assert.ok(res instanceof HttpError);
        const h = new Headers(res.headers);
        assert.ok(Number(h.get("retry-after")) >= 1);
        assert.match(res.message, /2 a minute are allowed/);
        seen.push(`${res.status} ${h.get("ratelimit-limit")} ${h.get("ratelimit-remaining")}`);
      }
    }
    assert.deepEqual(seen, ["200 2 1", "200 2 0", "429 2 0"]);
    // Another address, and a key holder at the same address, have allowances of their own.
    assert.equal((await anonymous(ctxOf("/v1/x", {}, "192.0.2.2"))).status, 200);
    const keyed = await partner(ctxOf("/v1/x", {}, "192.0.2.1"));
    assert.equal(keyed.headers.get("ratelimit-limit"), "3");
    assert.equal(metrics.rateLimited.get(), 1);
    assert.equal(metrics.byKey.get({ key: "" }), 4);
    assert.equal(metrics.byKey.get({ key: "a" }), 1);
  } finally {
    redis.disconnect();
  }
});
