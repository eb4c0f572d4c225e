/**
 * Images pass through the site whole: the API compresses large SVGs, fetch() hands the site
 * the decompressed bytes but keeps the compressed Content-Length, which must not reach the
 * browser. Against the API as a real process over HTTP, where compression happens.
 */
import assert from "node:assert/strict";
import { connectRedis } from "@bsky/shared/redis";
import { freePort, startRedisServer } from "@bsky/shared/testing/redis_server";
import { Applier } from "@bsky/store/apply";
import { startStandInNetwork } from "@bsky/fart/testing/stand_in";
import { spawnFart } from "../../fart/testing/spawn.ts";
import { ApiClient } from "../api.ts";
import { SEED } from "../testing/stack.ts";

Deno.test("an image the API sent compressed reaches the browser whole, without the compressed Content-Length", async () => {
  await using redisServer = await startRedisServer();
  await using net = startStandInNetwork();
  const redis = await connectRedis(redisServer.url, { name: "seed" });
  await new Applier(redis, { retentionDays: 30, memoryHours: 48 }).apply(SEED);
  redis.disconnect();
  const port = freePort();
  const api = await spawnFart({
    REDIS_URL: redisServer.url,
    FART_PORT: String(port),
    FART_HANDLE_RESOLVER_URL: net.url,
    FART_PLC_URL: net.url,
    FART_AVATAR_CDN_URL: net.url,
    LOG_LEVEL: "error",
  });
  try {
    const path = "/v1/circles/alice.test.svg?rings=3&bg=ffffff";
    const direct = await fetch(`http://127.0.0.1:${port}${path}`);
    assert.equal(direct.headers.get("content-encoding"), "br", "the API compresses it");
    const whole = new Uint8Array(await direct.arrayBuffer());
    assert.ok(whole.byteLength > Number(direct.headers.get("content-length")));

    for (const cacheSeconds of [0, 30]) {
      const client = new ApiClient({ baseUrl: `http://127.0.0.1:${port}`, cacheSeconds });
      // The first answer comes from the API, the second from the site's memory.
      for (let i = 0; i < 2; i++) {
        const res = await client.image(path, new Request("http://site.test/img/x.svg"));
        const body = new Uint8Array(await res.arrayBuffer());
        assert.deepEqual(body, whole, "the whole SVG");
        const length = res.headers.get("content-length");
        assert.ok(
          length === null || Number(length) === body.byteLength,
          `Content-Length ${length}`,
        );
        assert.equal(res.headers.get("content-encoding"), null);
        assert.equal(res.headers.get("content-type"), "image/svg+xml");
      }
    }
  } finally {
    api.kill("SIGTERM");
    await api.status;
  }
});
