/**
 * Periods and filters of the circles and their interactions, through the API's handler over
 * a real redis-server holding weeks of generated traffic (written by the real applier and
 * rolled up as the scheduler would), against a ground truth computed straight from the
 * events (store/testing/circle_world.ts).
 */
import assert from "node:assert/strict";
import type { Clock } from "@bsky/shared/clock";
import { createLogger } from "@bsky/shared/log";
import { connectRedis, type Redis } from "@bsky/shared/redis";
import { startRedisServer } from "@bsky/shared/testing/redis_server";
import { HOUR_MS, storeKeys } from "@bsky/store/layout";
import { periodAt, periodWindow, previousPeriod } from "@bsky/store/periods";
import {
  circleWorld,
  type Direction,
  topMismatch,
  truthTop,
  type World,
} from "@bsky/store/testing/circle_world";
import { storeWorld } from "@bsky/store/testing/world_store";
import { createApp } from "../app.ts";
import { loadFartConfig } from "../config.ts";
import { openApiDocument } from "../openapi.ts";
import { circlesAnswer, interactionsAnswer } from "../schemas.ts";

const DAY_MS = 24 * HOUR_MS;
/** Keys expire on the real clock, so the world ends now. */
const NOW = Date.now();
const START = periodAt("week", NOW - 28 * DAY_MS).start;
const RETENTION_DAYS = 40;

interface Ctx {
  redis: Redis;
  world: World;
  /** A GET to an API whose clock says `now` (NOW unless said). */
  get(path: string, now?: number): Promise<Response>;
}

async function withWorldApi(fn: (ctx: Ctx) => Promise<void>) {
  await using server = await startRedisServer();
  const redis = await connectRedis(server.url, { name: "test" });
  const config = loadFartConfig((n) =>
    ({ REDIS_URL: server.url, FART_RATE_PER_IP: "1000000", FART_CACHE_SECONDS: "60" })[n]
  );
  const apps = new Map<number, ReturnType<typeof createApp>>();
  const appAt = (now: number) => {
    let app = apps.get(now);
    if (!app) {
      const clock: Clock = { now: () => now };
      app = createApp({ redis, config, log: createLogger("fart", { write: () => {} }), clock });
      apps.set(now, app);
    }
    return app;
  };
  try {
    const world = circleWorld({ start: START, end: NOW - HOUR_MS });
    await storeWorld(redis, world, { start: START, now: NOW, retentionDays: RETENTION_DAYS });
    // What the indexer writes when it starts.
    await redis.hset(storeKeys.settings, { retentionDays: RETENTION_DAYS, recordMemoryHours: 48 });
    await fn({
      redis,
      world,
      get: (path, now = NOW) =>
        appAt(now).fetch(new Request(`http://api.test${path}`), {
          remoteAddr: { hostname: "192.0.2.1" },
        }),
    });
  } finally {
    for (const app of apps.values()) app.close();
    redis.disconnect();
  }
}

const handle = (world: World, did: string) => world.handles.get(did)!;

Deno.test("interactions and circles of past and running weeks and months, and of 24 hours, are the ground truth's, with every filter", async () => {
  await withWorldApi(async ({ world, get }) => {
    const thisWeek = periodAt("week", NOW);
    const periods = [
      previousPeriod(thisWeek),
      periodAt("week", world.botDay),
      thisWeek,
      periodAt("month", NOW),
    ];
    const spans = periods.map((p) => ({ name: p.name, ...periodWindow(p, NOW)! }));
    const to = (Math.floor(NOW / HOUR_MS) + 1) * HOUR_MS;
    spans.push({ name: "24h", from: to - DAY_MS, to, windowHours: 24, at: NOW, closed: false });
    const excluded = [world.dids[1], world.dids[2], world.bot];
    // Handles and DIDs, with @ and in any case: one list.
    const excludeParam = `@${handle(world, world.dids[1]).toUpperCase()},${world.dids[2]},${
      handle(world, world.bot)
    }`;
    const filters: [string, object][] = [
      ["", {}],
      [`&exclude=${encodeURIComponent(excludeParam)}`, { exclude: excluded }],
      ["&mutuals=only", { mutuals: "only" }],
      ["&mutuals=none", { mutuals: "none" }],
      ["&bots=hide", { hideBots: true }],
      [`&exclude=${world.dids[1]}&mutuals=none&bots=hide`, {
        exclude: [world.dids[1]],
        mutuals: "none",
        hideBots: true,
      }],
    ];
    let nonEmpty = 0;
    for (const span of spans) {
      for (const direction of ["sent", "received", "both", "mutual"] as Direction[]) {
        for (const [query, truthFilters] of filters) {
          const base = `window=${span.name}&direction=${direction}${query}`;
          const where = base;
          const res = await get(`/v1/interactions/${world.actor}?${base}&limit=100`);
          assert.equal(res.status, 200, where);
          const body = interactionsAnswer.parse(await res.json());
          assert.equal(body.window, span.name, where);
          assert.deepEqual(
            [body.from, body.to],
            [span.from, span.to].map((t) => new Date(t).toISOString()),
          );
          const truth = truthTop(world, world.actor, direction, span.from, span.to, truthFilters);
          assert.equal(topMismatch(body.items, truth, 100), "", where);
          if (body.items.length) nonEmpty++;
          // The circles leave out blocked accounts too, and hold 2 rings: 23 people.
          const circles = circlesAnswer.parse(
            await (await get(`/v1/circles/${world.actor}?${base}&rings=2`)).json(),
          );
          const people = circles.rings.flatMap((r) => r.people);
          const blockedOut = truthTop(world, world.actor, direction, span.from, span.to, {
            ...truthFilters,
            excludeBlocked: true,
          });
          assert.equal(topMismatch(people, blockedOut, 23), "", `circles ${where}`);
          assert.equal(circles.window, span.name);
        }
      }
    }
    assert.ok(nonEmpty >= 90, `${nonEmpty}`);
  });
});

Deno.test("the bot is in the circles of its busy week until bots=hide, and the SVG follows the filters and shows the period's dates", async () => {
  await withWorldApi(async ({ world, get }) => {
    const week = periodAt("week", world.botDay).name;
    const dids = async (query: string) => {
      const body = await (await get(`/v1/circles/${world.actor}?window=${week}${query}`)).json();
      return body.rings.flatMap((r: { people: { did: string }[] }) => r.people.map((p) => p.did));
    };
    assert.equal((await dids("&direction=received"))[0], world.bot);
    assert.ok(!(await dids("&direction=received&bots=hide")).includes(world.bot));
    const svg = async (query: string) =>
      await (await get(`/v1/circles/${world.actor}.svg?window=${week}&direction=received${query}`))
        .text();
    assert.match(await svg(""), new RegExp(`data-did="${world.bot}"`));
    assert.doesNotMatch(await svg("&bots=hide"), new RegExp(`data-did="${world.bot}"`));
    assert.doesNotMatch(
      await svg(`&exclude=${handle(world, world.bot)}`),
      new RegExp(`data-did="${world.bot}"`),
    );
    // The picture's dates are the period's: Monday to Sunday.
    const p = periodAt("week", world.botDay);
    const text = await svg("");
    assert.ok(text.includes(new Date(p.start).toISOString().slice(0, 10)), "from Monday");
  });
});

Deno.test("a period must have started and be within the retention, a filter must be well formed: otherwise a 400 naming it", async () => {
  await withWorldApi(async ({ world, get }) => {
    const next = periodAt("week", periodAt("week", NOW).end).name;
    const old = periodAt("week", NOW - (RETENTION_DAYS + 3) * DAY_MS).name;
    const many = Array.from({ length: 26 }, (_, i) => `user${i}.test`).join(",");
    for (
      const [query, parameter, message] of [
        [`window=${next}`, "window", /has not started yet/],
        [`window=${old}`, "window", /starts before what is kept: interactions are kept 40 days/],
        ["window=week:2026-W54", "window", /is not a week of that year or a month/],
        ["window=month:2026-13", "window", /is not a week of that year or a month/],
        ["window=week:2026", "window", /is not a window such as 24h or 7d, nor a period/],
        ["window=31d", "window", /is not between 1h and 30d/],
        [`exclude=${many}`, "exclude", /names more than 25 accounts/],
        ["exclude=alice.test,not_a_handle!", "exclude", /names "not_a_handle!", not a handle/],
        ["mutuals=some", "mutuals", /is not all, only or none/],
        ["bots=maybe", "bots", /is not show or hide/],
      ] as const
    ) {
      for (const path of ["/v1/interactions", "/v1/circles"]) {
        const res = await get(`${path}/${world.actor}?${query}`);
        assert.equal(res.status, 400, `${path} ${query}`);
        const body = await res.json();
        assert.equal(body.parameter, parameter, query);
        assert.match(body.message, message, query);
      }
    }
    // A handle nobody here has is nothing to leave out: no error.
    const res = await get(`/v1/circles/${world.actor}?exclude=nobody.test`);
    assert.equal(res.status, 200);
    await res.body?.cancel();
  });
});

Deno.test("answers over a final period are kept 90 s rather than 60; a running or recent one as usual", async () => {
  await withWorldApi(async ({ world, get }) => {
    const maxAge = async (window: string, now?: number) => {
      const res = await get(`/v1/circles/${world.actor}?window=${window}`, now);
      await res.body?.cancel();
      assert.equal(res.status, 200, window);
      return res.headers.get("cache-control");
    };
    const thisWeek = periodAt("week", NOW);
    const lastWeek = previousPeriod(thisWeek);
    const before = previousPeriod(lastWeek);
    assert.equal(await maxAge(before.name), "public, max-age=90", "ended over 48 hours ago");
    assert.equal(await maxAge(thisWeek.name), "public, max-age=60", "running");
    assert.equal(await maxAge("7d"), "public, max-age=60");
    // A day after last week ended, a delete may still take a like of its last hours back.
    assert.equal(await maxAge(lastWeek.name, lastWeek.end + DAY_MS), "public, max-age=60");
    assert.equal(await maxAge(lastWeek.name, lastWeek.end + 49 * HOUR_MS), "public, max-age=90");
  });
});

Deno.test("/openapi.json states the periods, the filters and the changes route", () => {
  const d = openApiDocument("none") as {
    paths: Record<
      string,
      { get: { operationId: string; parameters: { name: string; description?: string }[] } }
    >;
  };
  for (
    const path of ["/v1/interactions/{actor}", "/v1/circles/{actor}", "/v1/circles/{actor}/changes"]
  ) {
    const params = d.paths[path].get.parameters;
    const window = params.find((p) => p.name === "window")!;
    assert.match(window.description!, /week:2026-W47/);
    assert.match(window.description!, /month:2026-11/);
    assert.match(window.description!, /ISO 8601 week/);
    for (const name of ["exclude", "mutuals", "bots"]) {
      assert.ok(params.some((p) => p.name === name), `${path} ${name}`);
    }
  }
  assert.equal(d.paths["/v1/circles/{actor}/changes"].get.operationId, "getCirclesChanges");
  const bots = d.paths["/v1/circles/{actor}"].get.parameters.find((p) => p.name === "bots")!;
  assert.match(bots.description!, /more than 1,000 interactions/);
});
