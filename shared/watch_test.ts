import assert from "node:assert/strict";
import { connectRedis } from "./redis.ts";
import { startRedisServer } from "./testing/redis_server.ts";
import { readWatch, registerWatch, WATCH_MAX } from "./watch.ts";
import { firehoseKeys } from "./keys.ts";

Deno.test("readWatch() gives the registered accounts until their registration expires, valid DIDs only", async () => {
  await using server = await startRedisServer();
  const redis = await connectRedis(server.url, { name: "test" });
  try {
    const now = 1_800_000_000_000;
    await registerWatch(redis, "did:plc:bbbbbbbbbbbbbbbbbbbbbbbb", now, 1000);
    await registerWatch(redis, "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa", now, 5000);
    assert.deepEqual(await readWatch(redis, now + 999), [
      "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa",
      "did:plc:bbbbbbbbbbbbbbbbbbbbbbbb",
    ]);
    assert.deepEqual(await readWatch(redis, now + 1001), ["did:plc:aaaaaaaaaaaaaaaaaaaaaaaa"]);
    // Renewing moves the expiry.
    await registerWatch(redis, "did:plc:bbbbbbbbbbbbbbbbbbbbbbbb", now + 1500, 5000);
    assert.deepEqual(await readWatch(redis, now + 6000), ["did:plc:bbbbbbbbbbbbbbbbbbbbbbbb"]);
    // Whatever else lands in the key is not a DID to watch, and the list is capped.
    await redis.zadd(firehoseKeys.watch, now + 9000, "not a did");
    assert.equal((await readWatch(redis, now + 1)).length, 2);
    for (let i = 0; i < WATCH_MAX + 10; i++) {
      await redis.zadd(firehoseKeys.watch, now + 9000, `did:web:a${i}.example`);
    }
    assert.equal((await readWatch(redis, now + 1)).length <= WATCH_MAX, true);
    await assert.rejects(registerWatch(redis, "alice.test", now), /"alice.test" is not a DID/);
  } finally {
    redis.disconnect();
  }
});
