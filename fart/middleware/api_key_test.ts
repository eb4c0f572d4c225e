import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { connectRedis } from "@bsky/shared/redis";
import { startRedisServer } from "@bsky/shared/testing/redis_server";
import { HttpError } from "../http.ts";
import { fartMetrics } from "../metrics.ts";
import { RateLimiter } from "../rate_limit.ts";
import { ctxOf } from "../testing/ctx.ts";
import { apiKey, ApiKeys } from "./api_key.ts";
import { compose } from "./compose.ts";

const KEY = "k-partner-key";
const HASH = Buffer.from(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(KEY)))
  .toString("hex");

const withStatus = (status: number) => (e: unknown) =>
  e instanceof HttpError && e.status === status;

async function withKeys(
  optional: boolean,
  fn: (
    call: (ip: string, authorization?: string) => Promise<string>,
    keys: ApiKeys,
  ) => Promise<void>,
) {
  await using server = await startRedisServer();
  const redis = await connectRedis(server.url, { name: "test" });
  const keys = new ApiKeys(new Map([[HASH, "partner"]]), optional);
  const metrics = fartMetrics();
  const handle = compose(
    [apiKey({ keys, limiter: new RateLimiter(redis), failuresPerIp: 3, metrics })],
    (ctx) => Promise.resolve(new Response(ctx.key ? `key ${ctx.key.name}` : "anonymous")),
  );
  try {
    await fn(async (ip, authorization) => {
      const ctx = ctxOf("/v1/stats/jobs", { headers: authorization ? { authorization } : {} }, ip);
      return await (await handle(ctx)).text();
    }, keys);
  } finally {
    redis.disconnect();
  }
}

Deno.test("apiKey with keys required: none or a wrong one is a 401 asking for a Bearer key, a valid one names its key", async () => {
  await withKeys(false, async (call, keys) => {
    assert.equal(keys.mode, "required");
    await assert.rejects(
      call("192.0.2.1"),
      (e) =>
        withStatus(401)(e) &&
        new Headers((e as HttpError).headers).get("www-authenticate") === "Bearer",
    );
    await assert.rejects(call("192.0.2.2", "Bearer nope"), /not valid/);
    await assert.rejects(call("192.0.2.3", "Basic nope"), /An API key is needed/);
    assert.equal(await call("192.0.2.1", `Bearer ${KEY}`), "key partner");
    assert.equal(await call("192.0.2.1", `bearer   ${KEY}`), "key partner");
    assert.equal(keys.kept().entries, 2, "the hashes of the two keys presented");
  });
});

Deno.test("apiKey with keys optional: a request without a key passes as anonymous, a wrong key is still refused", async () => {
  await withKeys(true, async (call, keys) => {
    assert.equal(keys.mode, "optional");
    assert.equal(await call("192.0.2.1"), "anonymous");
    assert.equal(await call("192.0.2.1", `Bearer ${KEY}`), "key partner");
    await assert.rejects(call("192.0.2.1", "Bearer wrong"), withStatus(401));
  });
});

Deno.test("apiKey: past its allowance of failures an address gets 429 with Retry-After; other addresses and valid keys still pass", async () => {
  await withKeys(false, async (call, keys) => {
    for (let i = 0; i < 3; i++) {
      await assert.rejects(call("192.0.2.1", `Bearer x${i}`), withStatus(401));
    }
    await assert.rejects(
      call("192.0.2.1", "Bearer x9"),
      (e) =>
        withStatus(429)(e) && Number(new Headers((e as HttpError).headers).get("retry-after")) >= 1,
    );
    await assert.rejects(call("192.0.2.2", "Bearer x9"), withStatus(401));
    assert.equal(await call("192.0.2.1", `Bearer ${KEY}`), "key partner");
    // A key longer than any key is refused without being hashed or kept.
    const before = keys.kept().entries;
    await assert.rejects(call("192.0.2.3", `Bearer ${"k".repeat(300)}`), withStatus(401));
    assert.equal(keys.kept().entries, before);
  });
});
