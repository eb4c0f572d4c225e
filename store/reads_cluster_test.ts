/**
 * The store's reads over many accounts on a real local Redis Cluster (3 masters, 3
 * replicas): a store written by the real applier to one redis-server, copied key by key
 * into the cluster (each account's keys in its own slot, spread over every master), gives
 * the same profiles, hidden and blocked accounts, mutual follows, busiest days and circles
 * on both.
 */
import assert from "node:assert/strict";
import type { Redis } from "@bsky/shared/redis";
import { copyInto, withServerAndCluster } from "@bsky/shared/testing/redis_cluster";
import { busiestDays, circleFilter, mutualFollows } from "./circle_filters.ts";
import { didsOf, idOf } from "./ids.ts";
import { topInteractions } from "./interactions.ts";
import { excludedAmong } from "./interactions_scan.ts";
import { DAY_MS, HOUR_MS, storeKeys } from "./layout.ts";
import { didOfHandle, profiles, searchHandles } from "./profiles.ts";
import { circleWorld, type Direction } from "./testing/circle_world.ts";
import { storeWorld } from "./testing/world_store.ts";

/** Keys expire on the real clock, so the world ends now. */
const NOW = Date.now();
const START = NOW - 21 * DAY_MS;

Deno.test("on a Redis Cluster the reads over many accounts answer as on one server", async () => {
  await withServerAndCluster(async (one, many, cluster) => {
    const world = circleWorld({ start: START, end: NOW - HOUR_MS });
    await storeWorld(one, world, { start: START, now: NOW, retentionDays: 40 });

    // The same keys, values and TTLs on the cluster.
    await copyInto(one, many);
    const ids = await Promise.all(world.dids.map(async (d) => (await idOf(one, d))!));
    assert.ok(ids.every((id) => id !== undefined));
    const masters = new Set<number>();
    for (const id of ids) masters.add(await cluster.masterOf(storeKeys.profile(id)));
    assert.equal(masters.size, 3, "the accounts' profiles are on every master");

    const both = async <T>(what: string, read: (redis: Redis) => Promise<T>) => {
      const [a, b] = [await read(one), await read(many)];
      assert.deepEqual(b, a, what);
      return a;
    };
    const unknown = "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa";
    const found = await both("profiles", (r) => profiles(r, [...world.dids, unknown]));
    assert.equal(found.filter((p) => p.handle).length, world.dids.length, "every handle read");
    assert.deepEqual(found.at(-1), { did: unknown });
    assert.deepEqual(await both("didsOf", (r) => didsOf(r, ids)), world.dids);
    await both("didOfHandle", (r) => didOfHandle(r, world.handles.get(world.dids[5])!));
    await both("searchHandles", (r) => searchHandles(r, "user1", 20));

    const [actor, ...rest] = ids;
    const hiddenId = ids[world.dids.indexOf(world.hidden)];
    const blockedId = ids[world.dids.indexOf(world.blocked)];
    const excluded = await both("excludedAmong", (r) => excludedAmong(r, actor, rest, true));
    assert.equal(excluded[rest.indexOf(hiddenId)], true, "the hidden account");
    assert.equal(excluded[rest.indexOf(blockedId)], true, "the blocked account");
    assert.ok(excluded.filter((x) => x).length < rest.length / 2);
    const mutual = await both("mutualFollows", (r) => mutualFollows(r, actor, rest));
    assert.ok(mutual.some((x) => x) && mutual.some((x) => !x), `${mutual}`);
    const busiest = await both("busiestDays", (r) => busiestDays(r, rest, 30 * 24, NOW));
    const botId = ids[world.dids.indexOf(world.bot)];
    assert.ok(busiest[rest.indexOf(botId)] >= 1100, `${busiest[rest.indexOf(botId)]}`);

    let answers = 0;
    for (const direction of ["sent", "received", "both", "mutual"] as Direction[]) {
      for (const windowHours of [24, 7 * 24, 21 * 24]) {
        const got = await both(
          `${direction} ${windowHours}h`,
          (r) =>
            topInteractions(r, world.actor, {
              direction,
              windowHours,
              now: NOW,
              limit: 12,
              excludeBlocked: true,
              skip: circleFilter(r, actor, {
                mutuals: "none",
                hideBots: true,
                windowHours,
                now: NOW,
              }),
            }),
        );
        if (got && got.length > 0) answers++;
      }
    }
    assert.ok(answers >= 8, `${answers} circles not empty`);
  });
});
