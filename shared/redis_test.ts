import assert from "node:assert/strict";
import { RedisUnavailableError } from "./errors.ts";
import { connectRedis, isRedisUnavailable } from "./redis.ts";
import { startRedisServer } from "./testing/redis_server.ts";
import { settled } from "./testing/settled.ts";

/** The promise's outcome, or "waiting" when it has not settled after `ms`. */
function outcome<T>(p: Promise<T>, ms: number): Promise<T | Error | "waiting"> {
  let timer: ReturnType<typeof setTimeout>;
  return Promise.race([
    p.catch((err: Error) => err),
    new Promise<"waiting">((r) => timer = setTimeout(() => r("waiting"), ms)),
  ]).finally(() => clearTimeout(timer));
}

Deno.test("a fail-fast client refuses commands while Redis is down and serves again once it is back, by itself", async () => {
  await using server = await startRedisServer();
  const redis = await connectRedis(server.url, { name: "test", failFastMs: 300 });
  try {
    await redis.set("k", "v");
    await server.kill();
    await settled(async () => {
      const got = await outcome(redis.get("k"), 1000);
      assert.ok(got instanceof Error, `refused, not ${String(got)}`);
      assert.ok(isRedisUnavailable(got), got.message);
    }, 5000);
    await server.start();
    await settled(async () => assert.equal(await redis.ping(), "PONG"), 10_000);
  } finally {
    redis.disconnect();
  }
});

Deno.test("a fail-fast client gives up on a command a stalled Redis does not answer, and each later command gets its own answer", async () => {
  await using server = await startRedisServer();
  const redis = await connectRedis(server.url, { name: "test", failFastMs: 300 });
  try {
    await redis.mset("a", "1", "b", "2");
    server.signal("SIGSTOP");
    const stalled = await outcome(redis.get("a"), 2000);
    assert.ok(stalled instanceof Error, `gave up, not ${String(stalled)}`);
    assert.ok(isRedisUnavailable(stalled), stalled.message);
    server.signal("SIGCONT");
    // The late answer to the abandoned GET a is not taken for this one's.
    assert.equal(await redis.get("b"), "2");
  } finally {
    redis.disconnect();
  }
});

Deno.test("a default client keeps a command waiting while Redis is down and runs it once Redis is back", async () => {
  await using server = await startRedisServer();
  const redis = await connectRedis(server.url, { name: "test" });
  try {
    await server.kill();
    const pending = redis.incr("n");
    assert.equal(await outcome(pending, 500), "waiting");
    await server.start();
    assert.equal(await pending, 1);
  } finally {
    redis.disconnect();
  }
});

Deno.test("isRedisUnavailable() tells Redis being away from Redis refusing a command", () => {
  for (
    const message of [
      "Command timed out",
      "Stream isn't writeable and enableOfflineQueue options is false",
      "Connection is closed.",
      'Reached the max retries per request limit (which is 0). Refer to "maxRetriesPerRequest" option for details.',
      "LOADING Redis is loading the dataset in memory",
    ]
  ) {
    assert.ok(isRedisUnavailable(new Error(message)), message);
  }
  assert.ok(isRedisUnavailable(new RedisUnavailableError("Cannot connect to Redis")));
  assert.ok(
    isRedisUnavailable(new Error("Cannot read", { cause: new Error("Command timed out") })),
  );
  assert.ok(!isRedisUnavailable(new Error("WRONGTYPE Operation against a key")));
  assert.ok(!isRedisUnavailable("Command timed out"));
});
