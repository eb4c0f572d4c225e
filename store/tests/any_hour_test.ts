/**
 * The store's answers at any hour of the week. The same events go into two databases of one
 * redis-server: one is rolled up, the other never is. At each instant
 * the rolled-up store must give every window the raw store's answer, except that a window
 * whose oldest day was rolled up counts that day whole when at least 12 of its hours are
 * inside, and not at all otherwise (the rule the README states). Windows of up to 24 hours
 * and windows of whole days are therefore exact.
 *
 * Run from every hour of one week, and from the week's first and last millisecond, with
 * roll-ups that run twice at one instant and then across the next hour, day and week.
 * Redis runs on the real clock, so the week is one in the future: nothing expires early.
 */
import assert from "node:assert/strict";
import type { FirehoseEvent } from "@bsky/shared/events";
import { connectRedis, type Redis } from "@bsky/shared/redis";
import { startRedisServer } from "@bsky/shared/testing/redis_server";
import { Applier } from "../apply.ts";
import { topInteractions, totals } from "../queries.ts";
import { rollUpWeeks } from "../rollup.ts";
import { HOUR_MS, WEEK_HOURS } from "../layout.ts";
import { didOf, generateEvents } from "../testing/generate.ts";

const DAY_HOURS = 24;
const WEEK_MS = WEEK_HOURS * HOUR_MS;
/** A store week two weeks from now. */
const BASE = (Math.floor(Date.now() / WEEK_MS) + 2) * WEEK_MS;
/** Window lengths in hours: short ones, ones that end inside each of the last days, 7 and 30 days. */
const WINDOWS = [1, 5, 23, 24, 25, 30, 36, 47, 48, 60, 71, 100, 167, 168, 169, 200, 720];
const DIDS = [didOf(0), didOf(1), didOf(3), didOf(11), didOf(29)];
/** When the roll-ups run, after the start: twice at once, then an hour, a day and two on. */
const ROLLUPS = [0, 0, 1, 25, 49].map((h) => h * HOUR_MS);

/** Days (since the epoch) the roll-up as of `at` turns into day counts: its week and the one before. */
function daysRolledAt(at: number): number[] {
  const hour = Math.floor(at / HOUR_MS), week = Math.floor(hour / WEEK_HOURS);
  const out: number[] = [];
  for (let d = (week - 1) * 7; d < (week + 1) * 7; d++) {
    // A day rolls once its last hour is more than a day and the clock margin (1 h) behind.
    if ((d + 1) * DAY_HOURS - 1 <= hour - DAY_HOURS - 1) out.push(d);
  }
  return out;
}

/** The window the rolled-up store counts for `hours` at `now`, as a length in hours. */
function countedWindow(hours: number, now: number, rolled: Set<number>): number {
  const last = Math.floor(now / HOUR_MS), first = last - hours + 1;
  const day = Math.floor(first / DAY_HOURS);
  if (first % DAY_HOURS === 0 || !rolled.has(day)) return hours;
  const inside = (day + 1) * DAY_HOURS - first;
  const from = inside >= 12 ? day * DAY_HOURS : (day + 1) * DAY_HOURS;
  return last - from + 1;
}

async function answers(redis: Redis, now: number, windowOf: (hours: number) => number) {
  const out: Promise<unknown>[] = [];
  for (const did of DIDS) {
    for (const hours of WINDOWS) {
      const windowHours = windowOf(hours);
      out.push(
        topInteractions(redis, did, { direction: "both", windowHours, limit: 50, now }),
        totals(redis, did, windowHours, now),
      );
    }
  }
  return await Promise.all(out);
}

async function checkFrom(rolled: Redis, raw: Redis, start: number, seed: number) {
  await Promise.all([rolled.flushdb(), raw.flushdb()]);
  // Six days of traffic up to the start, and a like with its delete in an older day.
  const events: FirehoseEvent[] = [...generateEvents({
    accounts: 30,
    events: 1200,
    seed,
    start: start - 6 * DAY_HOURS * HOUR_MS,
    spanMs: 6 * DAY_HOURS * HOUR_MS,
  })];
  const at = start - 3 * DAY_HOURS * HOUR_MS;
  const like = (seq: number, rkey: string): FirehoseEvent => ({
    v: 1,
    kind: "commit",
    seq,
    time: at,
    did: DIDS[0],
    action: "create",
    collection: "app.bsky.feed.like",
    rkey,
    subject: DIDS[1],
  });
  events.push(like(1e8, "3kaaaaaaaaaa2"), like(1e8 + 1, "3kaaaaaaaaaa3"), {
    ...like(1e8 + 2, "3kaaaaaaaaaa2"),
    action: "delete",
  } as FirehoseEvent);
  for (const redis of [rolled, raw]) {
    await new Applier(redis, { retentionDays: 30, memoryHours: 48 }).apply(events);
  }
  const days = new Set<number>();
  for (const offset of ROLLUPS) {
    const now = start + offset;
    await rollUpWeeks(rolled, now);
    for (const d of daysRolledAt(now)) days.add(d);
    const label = `from ${new Date(start).toISOString()}, at +${offset / HOUR_MS} h`;
    assert.deepEqual(
      await answers(rolled, now, (hours) => hours),
      await answers(raw, now, (hours) => countedWindow(hours, now, days)),
      label,
    );
  }
  // Anti-vacuity: the roll-up did roll days up, and the answers hold interactions.
  assert.ok(days.size >= 4);
  const counted = await answers(raw, start, (h) => h);
  assert.ok(counted.filter((a) => Array.isArray(a) && a.length > 0).length > DIDS.length * 8);
}

Deno.test("the rolled-up store answers every window like the raw one, by the stated rule, from every hour of a week", async () => {
  await using server = await startRedisServer();
  const rolled = await connectRedis(server.url, { name: "rolled" });
  const raw = await connectRedis(`${server.url}/1`, { name: "raw" });
  try {
    const starts = [BASE, BASE + WEEK_MS - 1];
    for (let h = 0; h < WEEK_HOURS; h++) starts.push(BASE + h * HOUR_MS + 30 * 60_000);
    for (const [k, start] of starts.entries()) await checkFrom(rolled, raw, start, k + 1);
  } finally {
    rolled.disconnect();
    raw.disconnect();
  }
});

Deno.test("countedWindow() rounds only a rolled-up oldest day, to whole or nothing", () => {
  const now = BASE + 5 * DAY_HOURS * HOUR_MS + 10 * HOUR_MS; // day 5 of the week, 10:00
  const day = Math.floor(now / HOUR_MS / DAY_HOURS);
  const rolled = new Set([day - 2, day - 3]);
  assert.equal(countedWindow(24, now, rolled), 24, "yesterday is not rolled");
  // 40 hours back starts at 19:00 two days ago: 5 hours of it, so none of it counts.
  assert.equal(countedWindow(40, now, rolled), 35);
  // 50 hours back starts at 09:00 two days ago: 15 hours of it, so the whole day counts.
  assert.equal(countedWindow(50, now, rolled), 59);
  assert.equal(countedWindow(59, now, rolled), 59, "a whole day stays whole");
  assert.deepEqual(daysRolledAt(now).filter((d) => d >= day - 3), [day - 3, day - 2]);
});
