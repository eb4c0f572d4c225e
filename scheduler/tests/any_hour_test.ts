/**
 * The top lists at any hour of the week: for every hour of one week, and the week's first
 * and last millisecond, a store is filled with a week of traffic up to that instant, and
 * each list equals every account's totals from the store's own query and the ground truth,
 * before and after roll-ups as of that instant and an hour later (across the next day or
 * week where the hour is the last of one). Redis runs on the real clock, so the week is one
 * in the future: nothing expires early.
 */
import assert from "node:assert/strict";
import { connectRedis } from "@bsky/shared/redis";
import { startRedisServer } from "@bsky/shared/testing/redis_server";
import { HOUR_MS, WEEK_HOURS } from "@bsky/store/layout";
import { checkTopListsAt } from "../testing/top_lists_check.ts";

const WEEK_MS = WEEK_HOURS * HOUR_MS;

Deno.test("the top lists equal every account's totals, before and after the roll-up, from every hour of a week", async () => {
  await using server = await startRedisServer();
  const redis = await connectRedis(server.url, { name: "test" });
  try {
    const base = (Math.floor(Date.now() / WEEK_MS) + 2) * WEEK_MS;
    const starts = [base, base + WEEK_MS - 1];
    for (let h = 0; h < WEEK_HOURS; h++) starts.push(base + h * HOUR_MS + 30 * 60_000);
    let rolled = 0;
    for (const start of starts) {
      await redis.flushdb();
      const [before, after] = await checkTopListsAt(redis, start, {
        accounts: 40,
        events: 800,
        size: 10,
      });
      if (after < before) rolled++;
    }
    assert.equal(rolled, starts.length, "every start had days to roll up");
  } finally {
    redis.disconnect();
  }
});
