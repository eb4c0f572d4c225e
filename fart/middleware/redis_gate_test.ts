import assert from "node:assert/strict";
import { createLogger } from "@bsky/shared/log";
import { connectRedis } from "@bsky/shared/redis";
import { startRedisServer } from "@bsky/shared/testing/redis_server";
import { HttpError } from "../http.ts";
import { RedisGate } from "../redis_gate.ts";
import { ctxOf } from "../testing/ctx.ts";
import { compose } from "./compose.ts";
import { redisGate } from "./redis_gate.ts";

const is503 = (e: unknown) =>
  e instanceof HttpError && e.status === 503 &&
  new Headers(e.headers).get("retry-after") === "2" && !/timed out/.test(e.message);

Deno.test("redisGate: while a stalled Redis does not answer, requests get 503 with Retry-After at once, and pass again once it answers", async () => {
  await using server = await startRedisServer();
  const redis = await connectRedis(server.url, { name: "test", failFastMs: 200 });
  const gate = RedisGate.of(redis, createLogger("fart", { write: () => {} }), 50);
  let reached = 0;
  const handle = compose([redisGate(gate)], async () => {
    reached++;
    return new Response(await redis.get("k") ?? "none");
  });
  try {
    await redis.set("k", "v");
    assert.equal(await (await handle(ctxOf("/v1/x"))).text(), "v");
    server.signal("SIGSTOP");
    // The command that times out says Redis is away: its caller gets the 503.
    await assert.rejects(handle(ctxOf("/v1/x")), is503);
    assert.equal(reached, 2);
    // From then on the gate answers at once, without sending anything to Redis.
    const t0 = performance.now();
    await assert.rejects(handle(ctxOf("/v1/x")), is503);
    assert.ok(performance.now() - t0 < 100, "refused without waiting for Redis");
    assert.equal(reached, 2, "the route was not run");
    server.signal("SIGCONT");
    const deadline = Date.now() + 5000;
    let answer = "";
    while (!answer && Date.now() < deadline) {
      answer = await handle(ctxOf("/v1/x")).then((r) => r.text(), () => "");
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(answer, "v", "served again once Redis answers a probe");
  } finally {
    server.signal("SIGCONT");
    redis.disconnect();
  }
});

Deno.test("redisGate passes other errors on as they are, and leaves the gate open", async () => {
  await using server = await startRedisServer();
  const redis = await connectRedis(server.url, { name: "test", failFastMs: 200 });
  const gate = RedisGate.of(redis);
  try {
    const handle = compose([redisGate(gate)], async () => {
      await redis.hset("h", "f", "1");
      await redis.get("h"); // WRONGTYPE: Redis refused the command, it is not away
      return new Response("unreachable");
    });
    await assert.rejects(handle(ctxOf("/v1/x")), /WRONGTYPE/);
    assert.equal(gate.open, true);
  } finally {
    redis.disconnect();
  }
});
