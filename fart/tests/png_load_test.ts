/**
 * PNGs are drawn off the main thread, a bounded number at a time: the API, a process
 * started with its scoped flags, keeps answering /healthz and cached answers while renders
 * wait, and refuses renders past its queue with 503 and Retry-After.
 */
import assert from "node:assert/strict";
import { connectRedis } from "@bsky/shared/redis";
import { created, nextSeq } from "@bsky/shared/testing/events";
import { freePort, startRedisServer } from "@bsky/shared/testing/redis_server";
import { Applier } from "@bsky/store/apply";
import { spawnFart } from "../testing/spawn.ts";

const ALICE = "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa";
const did = (i: number) => `did:plc:${String.fromCharCode(98 + i).repeat(24)}`;

Deno.test("while PNG renders wait for the renderer, /healthz and a cached answer come first, and renders past the queue get 503 with Retry-After", async () => {
  await using redisServer = await startRedisServer();
  const redis = await connectRedis(redisServer.url, { name: "seed" });
  const now = Date.now();
  const people = Array.from({ length: 12 }, (_, i) => did(i));
  await new Applier(redis, { retentionDays: 30, memoryHours: 48 }).apply([
    { v: 1, kind: "identity", seq: nextSeq(), time: now, did: ALICE, handle: "alice.test" },
    ...people.flatMap((p, i) => [
      { v: 1, kind: "identity", seq: nextSeq(), time: now, did: p, handle: `p${i}.test` } as const,
      created(ALICE, "app.bsky.feed.like", `l${i}`, { subject: p }, now),
    ]),
  ]);
  redis.disconnect();
  const port = freePort();
  const api = await spawnFart({
    REDIS_URL: redisServer.url,
    FART_PORT: String(port),
    FART_RATE_PER_IP: "100000",
    FART_PNG_WORKERS: "1",
    FART_PNG_QUEUE: "6",
    LOG_LEVEL: "error",
  });
  try {
    const base = `http://127.0.0.1:${port}`;
    const cached = "/v1/interactions/alice.test";
    await (await fetch(base + cached)).body?.cancel();
    const done: string[] = [];
    const ask = async (name: string, path: string) => {
      const res = await fetch(base + path);
      await res.arrayBuffer();
      done.push(name);
      return res;
    };
    const colour = (i: number) => (0x102030 + i * 4099).toString(16);
    const renders = Array.from(
      { length: 12 },
      (_, i) => ask("png", `/v1/circles/alice.test.png?width=1200&bg=${colour(i)}`),
    );
    await new Promise((r) => setTimeout(r, 50));
    const health = ask("healthz", "/healthz");
    const answer = ask("cached", cached);
    assert.equal((await health).status, 200);
    assert.equal((await answer).status, 200);
    const settled = await Promise.all(renders);

    const drawn = settled.filter((r) => r.status === 200);
    const refused = settled.filter((r) => r.status === 503);
    assert.equal(drawn.length, 7, "one drawing and six waiting");
    assert.equal(refused.length, 5, "past the queue");
    for (const res of refused) assert.ok(Number(res.headers.get("retry-after")) >= 1);
    assert.ok(
      drawn.every((r) => r.headers.get("content-type") === "image/png"),
      "the renders admitted are drawn",
    );
    // Refusals come at once; of the renders drawn, at most the first was done before the
    // health check and the cached answer.
    const first = (name: string) => done.indexOf(name);
    const pngsBefore = (name: string) =>
      done.slice(0, first(name)).filter((n) => n === "png").length;
    assert.ok(pngsBefore("healthz") <= refused.length + 1, done.join(" "));
    assert.ok(pngsBefore("cached") <= refused.length + 1, done.join(" "));
    assert.equal(done.at(-1), "png", "the queued renders finish last");
  } finally {
    api.kill("SIGTERM");
    await api.status;
  }
});
