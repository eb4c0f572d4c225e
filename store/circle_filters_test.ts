/**
 * Periods and filters against a ground truth computed straight from the events (see
 * testing/circle_world.ts): weeks of traffic applied by the real applier to a real
 * redis-server and rolled up as the scheduler would, then every direction, for past and
 * running weeks and months and a 24-hour window, with and without each filter.
 */
import assert from "node:assert/strict";
import { connectRedis, type Redis } from "@bsky/shared/redis";
import { startRedisServer } from "@bsky/shared/testing/redis_server";
import {
  busiestDays,
  circleFilter,
  type CircleFilterOptions,
  mutualFollows,
} from "./circle_filters.ts";
import { idOf } from "./ids.ts";
import { topInteractions } from "./interactions.ts";
import { DAY_MS, HOUR_MS } from "./layout.ts";
import { periodAt, periodWindow, previousPeriod } from "./periods.ts";
import {
  circleWorld,
  type Direction,
  topMismatch,
  truthTop,
  type World,
} from "./testing/circle_world.ts";
import { storeWorld } from "./testing/world_store.ts";

/** Keys expire on the real clock, so the world ends now. */
const NOW = Date.now();
const START = periodAt("week", NOW - 28 * DAY_MS).start;

async function withWorld(fn: (redis: Redis, world: World) => Promise<void>) {
  await using server = await startRedisServer();
  const redis = await connectRedis(server.url, { name: "test" });
  try {
    const world = circleWorld({ start: START, end: NOW - HOUR_MS });
    await storeWorld(redis, world, { start: START, now: NOW, retentionDays: 40 });
    await fn(redis, world);
  } finally {
    redis.disconnect();
  }
}

/** The spans checked: two past weeks, the running week and month, and the last 24 hours. */
function spans(world: World) {
  const thisWeek = periodAt("week", NOW);
  const botWeek = periodAt("week", world.botDay);
  const out = [previousPeriod(thisWeek), botWeek, thisWeek, periodAt("month", NOW)].map((p) => {
    const w = periodWindow(p, NOW)!;
    return { name: p.name, from: w.from, to: w.to, windowHours: w.windowHours, at: w.at };
  });
  const to = (Math.floor(NOW / HOUR_MS) + 1) * HOUR_MS;
  out.push({ name: "24h", from: to - 24 * HOUR_MS, to, windowHours: 24, at: NOW });
  return out;
}

Deno.test("topInteractions() with a skip is the exact top after filtering, for periods and windows, in every direction", async () => {
  await withWorld(async (redis, world) => {
    const actorId = (await idOf(redis, world.actor))!;
    const excluded = [world.bot, world.dids[1], world.dids[2]];
    const excludeIds = new Set(
      await Promise.all(excluded.map(async (d) => (await idOf(redis, d))!)),
    );
    const filters: [string, Omit<CircleFilterOptions, "windowHours" | "now">, object][] = [
      ["none", {}, {}],
      ["exclude", { exclude: excludeIds }, { exclude: excluded }],
      ["mutuals only", { mutuals: "only" }, { mutuals: "only" }],
      ["mutuals none", { mutuals: "none" }, { mutuals: "none" }],
      ["bots hidden", { hideBots: true }, { hideBots: true }],
      ["all", { exclude: excludeIds, mutuals: "none", hideBots: true }, {
        exclude: excluded,
        mutuals: "none",
        hideBots: true,
      }],
    ];
    let checked = 0;
    for (const span of spans(world)) {
      for (const direction of ["sent", "received", "both", "mutual"] as Direction[]) {
        for (const [name, options, truthFilters] of filters) {
          const skip = circleFilter(redis, actorId, {
            ...options,
            windowHours: span.windowHours,
            now: span.at,
          });
          assert.equal(skip === undefined, name === "none");
          const got = await topInteractions(redis, world.actor, {
            direction,
            windowHours: span.windowHours,
            now: span.at,
            limit: 12,
            excludeBlocked: true,
            skip,
          });
          const truth = truthTop(world, world.actor, direction, span.from, span.to, {
            excludeBlocked: true,
            ...truthFilters,
          });
          const where = `${span.name} ${direction} ${name}`;
          assert.equal(topMismatch(got!, truth, 12), "", where);
          if (got!.length > 0) checked++;
        }
      }
    }
    assert.ok(checked >= 80, `${checked} non-empty answers`);
  });
});

Deno.test("the bot rule counts one UTC day: the bot is left out of the week of its busy day only, the night owl never", async () => {
  await withWorld(async (redis, world) => {
    const [bot, owl, actor] = await Promise.all(
      [world.bot, world.nightOwl, world.actor].map(async (d) => (await idOf(redis, d))!),
    );
    const botWeek = periodWindow(periodAt("week", world.botDay), NOW)!;
    // 1,100 likes on that day, plus any of its ten others that fell on it.
    const [botMax] = await busiestDays(redis, [bot], botWeek.windowHours, botWeek.at);
    assert.ok(botMax >= 1100 && botMax <= 1110, `${botMax}`);
    // The night owl's 1,050 likes straddle a midnight: 600 on one day, 450 on the next.
    const [owlMax] = await busiestDays(redis, [owl], 30 * 24, NOW);
    assert.equal(owlMax, 600);
    const received = (skip?: boolean, w = botWeek) =>
      topInteractions(redis, world.actor, {
        direction: "received",
        windowHours: w.windowHours,
        now: w.at,
        limit: 5,
        skip: circleFilter(redis, actor, { hideBots: skip, windowHours: w.windowHours, now: w.at }),
      });
    assert.equal((await received())![0].did, world.bot, "300 likes make it first");
    assert.ok(!(await received(true))!.some((c) => c.did === world.bot));
    // The week after, the same account sends a few likes only: it stays.
    const later = periodWindow(periodAt("week", world.botDay + 7 * DAY_MS), NOW)!;
    const all = await topInteractions(redis, world.actor, {
      direction: "received",
      windowHours: later.windowHours,
      now: later.at,
      limit: 100,
    });
    const kept = await topInteractions(redis, world.actor, {
      direction: "received",
      windowHours: later.windowHours,
      now: later.at,
      limit: 100,
      skip: circleFilter(redis, actor, {
        hideBots: true,
        windowHours: later.windowHours,
        now: later.at,
      }),
    });
    assert.equal(
      kept!.some((c) => c.did === world.bot),
      all!.some((c) => c.did === world.bot),
    );
  });
});

Deno.test("mutualFollows() needs the follow both ways", async () => {
  await withWorld(async (redis, world) => {
    const ids = await Promise.all(world.dids.map(async (d) => (await idOf(redis, d))!));
    const mutual = await mutualFollows(redis, ids[0], ids.slice(1));
    const follows = (a: string, s: string) =>
      world.events.some((e) =>
        e.kind === "commit" && e.collection === "app.bsky.graph.follow" && e.did === a &&
        (e as { subject?: string }).subject === s
      );
    const expected = world.dids.slice(1).map((d) =>
      follows(world.actor, d) && follows(d, world.actor)
    );
    assert.deepEqual(mutual, expected);
    assert.ok(expected.filter(Boolean).length >= 3, "some are mutual");
    assert.ok(
      world.dids.slice(1).some((d, k) => follows(d, world.actor) && !expected[k]),
      "some follow one way only",
    );
  });
});
