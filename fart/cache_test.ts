import assert from "node:assert/strict";
import { connectRedis, type Redis } from "@bsky/shared/redis";
import { startRedisServer } from "@bsky/shared/testing/redis_server";
import { AnswerCache } from "./cache.ts";

const text = (s: string) => new TextEncoder().encode(s);
const read = async (p: Promise<Uint8Array>) => new TextDecoder().decode(await p);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function gets(redis: Redis): Promise<number> {
  const stats = await redis.info("commandstats");
  return Number(/cmdstat_get:calls=(\d+)/.exec(stats)?.[1] ?? 0);
}

Deno.test("a cached answer is served from the process until its Redis copy expires", async () => {
  await using server = await startRedisServer();
  const redis = await connectRedis(server.url, { name: "a" });
  const other = await connectRedis(server.url, { name: "b" });
  try {
    const cache = new AnswerCache(redis, 1);
    let computed = 0;
    const compute = () => Promise.resolve(text(`answer ${++computed}`));
    assert.equal(await read(cache.get("k", compute)), "answer 1");
    const before = await gets(other);
    assert.equal(await read(cache.get("k", compute)), "answer 1");
    assert.equal(await gets(other) - before, 0, "no Redis read for a copy the process has");
    assert.equal(cache.hits, 1);
    // Another process reads Redis's copy, and keeps it only as long as Redis does.
    const elsewhere = new AnswerCache(other, 1);
    assert.equal(await read(elsewhere.get("k", compute)), "answer 1");
    assert.equal(computed, 1);
    await sleep(1100);
    assert.equal(await read(cache.get("k", compute)), "answer 2");
    assert.equal(await read(elsewhere.get("k", compute)), "answer 2", "read from Redis");
    assert.equal(computed, 2);
  } finally {
    redis.disconnect();
    other.disconnect();
  }
});

Deno.test("two processes asking for the same uncached answer compute it once", async () => {
  await using server = await startRedisServer();
  const a = await connectRedis(server.url, { name: "a" });
  const b = await connectRedis(server.url, { name: "b" });
  try {
    let computed = 0;
    const slow = async () => {
      computed++;
      await sleep(200);
      return text("slow answer");
    };
    const [x, y] = await Promise.all([
      new AnswerCache(a, 60).get("k", slow),
      new AnswerCache(b, 60).get("k", slow),
    ]);
    assert.deepEqual([x, y].map((v) => new TextDecoder().decode(v)), [
      "slow answer",
      "slow answer",
    ]);
    assert.equal(computed, 1, "the second process waited for the first one's answer");
  } finally {
    a.disconnect();
    b.disconnect();
  }
});
