/**
 * The API's metrics name its keys and count each one's requests: they are served on a port
 * of their own for operators, never on the public port.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { freePort, startRedisServer } from "@bsky/shared/testing/redis_server";
import { spawnFart } from "../testing/spawn.ts";

Deno.test("/metrics is a 404 on the API's public port and is served, with each key's counts, on FART_METRICS_PORT", async () => {
  await using redis = await startRedisServer();
  const key = "k-" + crypto.randomUUID();
  const hash = Buffer.from(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key)),
  ).toString("hex");
  const port = freePort(), metricsPort = freePort();
  const api = await spawnFart({
    REDIS_URL: redis.url,
    FART_PORT: String(port),
    FART_METRICS_PORT: String(metricsPort),
    FART_API_KEYS: `partner:${hash}`,
    LOG_LEVEL: "error",
  });
  try {
    const answered = await fetch(`http://127.0.0.1:${port}/v1/stats/jobs`, {
      headers: { authorization: `Bearer ${key}` },
    });
    assert.equal(answered.status, 200);
    await answered.body?.cancel();
    const asked: Record<string, string>[] = [{}, { authorization: `Bearer ${key}` }];
    for (const headers of asked) {
      const pub = await fetch(`http://127.0.0.1:${port}/metrics`, { headers });
      assert.equal(pub.status, 404);
      assert.doesNotMatch(await pub.text(), /partner|fart_key_requests_total/);
    }
    const ops = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    assert.equal(ops.status, 200);
    assert.match(await ops.text(), /fart_key_requests_total\{key="partner"\} 1\n/);
    const health = await fetch(`http://127.0.0.1:${metricsPort}/healthz`);
    assert.equal(health.status, 200);
    assert.equal((await health.json()).ok, true);
  } finally {
    api.kill("SIGTERM");
    await api.status;
  }
});
