/** Rate limits hold across API processes: two of them share one allowance in Redis. */
import assert from "node:assert/strict";
import { freePort, startRedisServer } from "@bsky/shared/testing/redis_server";
import { spawnFart } from "../testing/spawn.ts";

Deno.test("two API processes sharing one Redis enforce one rate limit together", async () => {
  await using redisServer = await startRedisServer();
  const ports = [freePort(), freePort()];
  const apis = await Promise.all(ports.map((port) =>
    spawnFart({
      REDIS_URL: redisServer.url,
      FART_PORT: String(port),
      FART_RATE_PER_IP: "6",
      LOG_LEVEL: "error",
    })
  ));
  try {
    const statuses: number[] = [];
    let retryAfter = 0;
    for (let i = 0; i < 10; i++) {
      const res = await fetch(`http://127.0.0.1:${ports[i % 2]}/v1/actors/search?q=a`);
      statuses.push(res.status);
      if (res.status === 429) retryAfter = Number(res.headers.get("retry-after"));
      await res.body?.cancel();
    }
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 200, 429, 429, 429, 429]);
    assert.ok(retryAfter >= 1 && retryAfter <= 10, `Retry-After ${retryAfter}`);
  } finally {
    for (const api of apis) {
      api.kill("SIGTERM");
      await api.status;
    }
  }
});
