import assert from "node:assert/strict";
import { connectRedis } from "./redis.ts";
import { startRedisServer } from "./testing/redis_server.ts";
import { TokenLock } from "./token_lock.ts";

Deno.test("TokenLock: one holder at a time, renewed and released only by its holder", async () => {
  await using server = await startRedisServer();
  const redis = await connectRedis(server.url, { name: "test" });
  try {
    const a = new TokenLock(redis, "lock:{t}", "a");
    const b = new TokenLock(redis, "lock:{t}", "b");
    assert.equal(await a.acquire(60_000), true);
    assert.equal(await b.acquire(60_000), false, "held by a");
    assert.equal(await redis.get("lock:{t}"), "a");
    const ttl = await redis.pttl("lock:{t}");
    assert.ok(ttl > 50_000 && ttl <= 60_000, `${ttl}`);
    assert.equal(await a.acquire(60_000), false, "taking it again is refused, even to a");

    // Only the holder renews it, to the TTL it asks for.
    assert.equal(await b.renew(600_000), false);
    assert.ok(await redis.pttl("lock:{t}") <= 60_000, "b's renewal changed nothing");
    assert.equal(await a.renew(600_000), true);
    assert.ok(await redis.pttl("lock:{t}") > 500_000);

    // Only the holder releases it; then anyone may take it.
    assert.equal(await b.release(), false);
    assert.equal(await redis.get("lock:{t}"), "a");
    assert.equal(await a.release(), true);
    assert.equal(await redis.exists("lock:{t}"), 0);
    assert.equal(await a.release(), false, "nothing left to release");
    assert.equal(await a.renew(1000), false, "nor to renew");
    assert.equal(await b.acquire(60_000), true);

    // A lock that ran out and was taken by another is not the former holder's any more.
    await redis.pexpire("lock:{t}", 1);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(await a.acquire(60_000), true);
    assert.equal(await b.renew(60_000), false);
    assert.equal(await b.release(), false);
    assert.equal(await redis.get("lock:{t}"), "a");
  } finally {
    redis.disconnect();
  }
});

Deno.test("TokenLock: a fresh random token for each lock unless given, the same scripts on every connection", async () => {
  await using server = await startRedisServer();
  const redis = await connectRedis(server.url, { name: "test" });
  const other = await connectRedis(server.url, { name: "test-2" });
  try {
    const first = new TokenLock(redis, "job:{t}");
    const second = new TokenLock(redis, "job:{t}");
    assert.notEqual(first.token, second.token);
    assert.match(first.token, /^[0-9a-f-]{36}$/);
    assert.equal(await first.acquire(10_000), true);
    assert.equal(await second.acquire(10_000), false);
    // The holder's token on another connection is the holder.
    const same = new TokenLock(other, "job:{t}", first.token);
    assert.equal(await same.renew(20_000), true);
    assert.equal(await same.release(), true);
    assert.equal(await second.acquire(10_000), true);
  } finally {
    redis.disconnect();
    other.disconnect();
  }
});
