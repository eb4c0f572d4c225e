import assert from "node:assert/strict";
import { connectRedis, isRedisUnavailable } from "@bsky/shared/redis";
import { startRedisServer } from "@bsky/shared/testing/redis_server";
import { RateLimiter } from "./rate_limit.ts";

Deno.test("RateLimiter: takes made together, for one client and for many, each get their own decision", async () => {
  await using server = await startRedisServer();
  const redis = await connectRedis(server.url, { name: "test" });
  try {
    const limiter = new RateLimiter(redis);
    const burst = await Promise.all(Array.from({ length: 40 }, () => limiter.take("ip:a", 10)));
    assert.equal(burst.filter((d) => d.allowed).length, 10);
    assert.deepEqual(
      burst.filter((d) => d.allowed).map((d) => d.remaining).sort((a, b) => a - b),
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    );
    assert.ok(burst.filter((d) => !d.allowed).every((d) => d.retryAfterSeconds >= 1));
    const others = await Promise.all(
      Array.from({ length: 20 }, (_, i) => limiter.take(`ip:${i}`, 10)),
    );
    assert.ok(others.every((d) => d.allowed && d.remaining === 9));
  } finally {
    redis.disconnect();
  }
});

Deno.test("RateLimiter: while Redis stalls, every take made together fails as Redis being away, and takes work again after", async () => {
  await using server = await startRedisServer();
  const redis = await connectRedis(server.url, { name: "test", failFastMs: 200 });
  try {
    const limiter = new RateLimiter(redis);
    assert.equal((await limiter.take("ip:a", 5)).allowed, true);
    server.signal("SIGSTOP");
    const stalled = await Promise.allSettled(
      Array.from({ length: 5 }, (_, i) => limiter.take(`ip:${i}`, 5)),
    );
    server.signal("SIGCONT");
    for (const s of stalled) {
      assert.equal(s.status, "rejected");
      assert.ok(isRedisUnavailable((s as PromiseRejectedResult).reason));
    }
    const deadline = Date.now() + 5000;
    let back = false;
    while (!back && Date.now() < deadline) {
      back = await limiter.take("ip:b", 5).then((d) => d.allowed, () => false);
    }
    assert.ok(back);
  } finally {
    server.signal("SIGCONT");
    redis.disconnect();
  }
});
