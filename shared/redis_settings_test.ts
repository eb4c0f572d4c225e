import assert from "node:assert/strict";
import { connectRedis } from "./redis.ts";
import { SERVER_SETTINGS, serverArgs, settingsOff } from "./redis_settings.ts";
import { startRedisServer } from "./testing/redis_server.ts";

Deno.test("the test server runs with the platform's settings, and settingsOff() names one turned off", async () => {
  await using server = await startRedisServer();
  const redis = await connectRedis(server.url, { name: "test" });
  try {
    for (const [name, value] of Object.entries(SERVER_SETTINGS)) {
      assert.deepEqual(await redis.config("GET", name), [name, value]);
    }
    assert.deepEqual(await settingsOff(redis), []);
    await redis.config("SET", "lazyfree-lazy-expire", "no");
    assert.deepEqual(await settingsOff(redis), ["lazyfree-lazy-expire=no"]);
    assert.deepEqual(serverArgs().slice(0, 2), ["--lazyfree-lazy-expire", "yes"]);
  } finally {
    redis.disconnect();
  }
});

Deno.test("settingsOff() says nothing of a server that refuses CONFIG, as a managed Redis may", async () => {
  await using server = await startRedisServer({ extraArgs: ["--rename-command", "CONFIG", ""] });
  const redis = await connectRedis(server.url, { name: "test" });
  try {
    await assert.rejects(redis.config("GET", "lazyfree-lazy-expire"));
    assert.deepEqual(await settingsOff(redis), []);
  } finally {
    redis.disconnect();
  }
});
