/**
 * The retention sweep with its fixes on a real local Redis Cluster (3 masters, 3 replicas),
 * where its scripts keep to one slot: the same store, copied key by key from one
 * redis-server into the cluster, swept at the same instants, ends the same on both: idle
 * profiles deleted with their handle entries, deleted accounts let go (out of their
 * blockers' lists, a thousand of them), graph sets checked against the retiring ids, and
 * idle accounts' ids given back (on the cluster one sweep later: their DIDs' mappings go at
 * one sweep, the ids at the next; store/reclaim.ts).
 */
import assert from "node:assert/strict";
import type { FirehoseEvent } from "@bsky/shared/events";
import type { RedisClient } from "@bsky/shared/redis";
import { copyInto, withServerAndCluster } from "@bsky/shared/testing/redis_cluster";
import { Applier } from "@bsky/store/apply";
import { HOUR_MS, storeKeys, WEEK_HOURS } from "@bsky/store/layout";
import { idOf } from "@bsky/store/queries";
import { create } from "@bsky/store/testing/fixtures";
import { didOf, generateEvents, tidOf } from "@bsky/store/testing/generate";
import { storeContents } from "@bsky/store/testing/two_rounds";
import { sweep } from "../jobs/sweep.ts";

const DAY_MS = 24 * HOUR_MS, WEEK_MS = WEEK_HOURS * HOUR_MS;
// Weeks ahead: Redis's own clock expires nothing early.
const BASE = (Math.floor(Date.now() / WEEK_MS) + 10) * WEEK_MS + 2 * DAY_MS + 5 * HOUR_MS;
const OLD = BASE - 40 * DAY_MS;

let seq = 0, rk = 0;
const commit = (did: string, collection: string, time: number, subject: string) =>
  create(did, collection, tidOf(rk++), { subject }, time);
const like = (did: string, subject: string, time: number) =>
  commit(did, "app.bsky.feed.like", time, subject);
const follow = (did: string, subject: string, time: number) =>
  commit(did, "app.bsky.graph.follow", time, subject);
const block = (did: string, subject: string, time: number) =>
  commit(did, "app.bsky.graph.block", time, subject);
const identity = (did: string, handle: string, time: number): FirehoseEvent => ({
  v: 1,
  kind: "identity",
  seq: ++seq,
  time,
  did,
  handle,
});
const deleted = (did: string, time: number): FirehoseEvent => ({
  v: 1,
  kind: "account",
  seq: ++seq,
  time,
  did,
  active: false,
  status: "deleted",
});

/** A store's contents, with what two ways of reclaiming may order differently made even. */
async function contents(redis: RedisClient): Promise<Map<string, string>> {
  const out = await storeContents(redis);
  const free = out.get(storeKeys.freeIds);
  if (free) {
    out.set(
      storeKeys.freeIds,
      JSON.stringify((await redis.lrange(storeKeys.freeIds, 0, -1)).sort()),
    );
  }
  // The epoch moves once per call that reclaimed ids: it moved, on both.
  if (out.has(storeKeys.idEpoch)) out.set(storeKeys.idEpoch, "moved");
  return out;
}

Deno.test("on a Redis Cluster the sweep's fixes end the store as on one server: idle profiles, deleted accounts, ids", async () => {
  await withServerAndCluster(async (one, many) => {
    const applier = new Applier(one, { retentionDays: 30, memoryHours: 48 });
    const [A, B, F, G, K, P, S, X, Y] = [201, 202, 203, 204, 205, 206, 207, 208, 209].map(didOf);
    const blockers = Array.from({ length: 1_200 }, (_, k) => didOf(1_000 + k));
    // Accounts idle since long before the retention, on every master.
    await applier.apply([
      ...generateEvents({ accounts: 80, events: 1_500, seed: 5, start: OLD, spanMs: HOUR_MS }),
      ...Array.from({ length: 80 }, (_, i) => identity(didOf(i), `u${i}.test`, OLD)),
      // Accounts that only liked, and named themselves, long ago.
      ...Array.from({ length: 60 }, (_, i) => [
        identity(didOf(300 + i), `v${i}.test`, OLD),
        like(didOf(300 + i), didOf(300 + ((i + 1) % 60)), OLD),
      ]).flat(),
    ]);
    await applier.apply([
      identity(A, "a.test", OLD),
      like(A, B, OLD), // A: idle, its profile and handle go, then its id
      identity(P, "p.test", OLD),
      follow(P, X, OLD), // P: idle but for its follows, kept while they are
      follow(B, F, OLD), // F: idle, but B follows it
      follow(G, B, OLD),
      like(K, B, BASE - 2 * DAY_MS), // K: a log within the retention
      like(B, X, BASE - DAY_MS), // B: active
      identity(S, "s.test", OLD),
      like(S, X, OLD),
      follow(F, S, OLD),
      block(B, S, OLD),
      block(B, Y, OLD),
    ]);
    for (let i = 0; i < blockers.length; i += 400) {
      await applier.apply(blockers.slice(i, i + 400).map((d) => block(d, S, OLD)));
    }
    await applier.apply([deleted(S, OLD), like(F, X, BASE - DAY_MS)]);
    const s = (await idOf(one, S))!, a = (await idOf(one, A))!;
    assert.equal(await one.zcard(storeKeys.blockedBy(s)), 1_201);

    await copyInto(one, many);
    const options = { retentionDays: 30, fix: true, fenceWaitMs: 5_000 };
    const reports: { one: unknown[]; many: unknown[] } = { one: [], many: [] };
    // Sweeps soon after, then a retention later (the deleted account's id then goes too).
    const instants = [1, 2, 3, 4].map((n) => BASE + n * 60_000);
    instants.push(...[1, 2, 3, 4, 5].map((n) => BASE + 31 * DAY_MS + n * 60_000));
    for (const now of instants) {
      reports.one.push(await sweep(one, { ...options, now }));
      reports.many.push(await sweep(many, { ...options, now }));
    }
    // What happened, on one server.
    assert.equal(await idOf(one, A), undefined, "A's id went back");
    assert.equal(await idOf(one, S), undefined, "S's id went back");
    assert.ok(await one.llen(storeKeys.freeIds) > 50, "the idle accounts' ids too");
    for (const d of [B, F, G, K, X]) assert.ok(await idOf(one, d), `${d} keeps its id`);
    assert.equal(await one.exists(storeKeys.blockedBy(s)), 0);
    assert.equal(await one.exists(storeKeys.profile(a)), 0);
    const swept = reports.many as { idleProfiles: number; ids: Record<string, unknown> }[];
    const pruned = (r: { idleProfiles: number }[]) => r.reduce((n, x) => n + x.idleProfiles, 0);
    assert.ok(pruned(swept) > 50, "profiles pruned on the cluster");
    assert.equal(pruned(swept), pruned(reports.one as typeof swept), "as many as on one server");
    assert.ok(swept.some((r) => Number(r.ids.retracted) > 50), "ids retracted on the cluster");
    assert.ok(swept.some((r) => r.ids.fence === "stopped"));
    assert.ok(swept.some((r) => Number(r.ids.named) > 0), "graph sets named retiring ids");

    // The same store on both.
    const [x, y] = [await contents(one), await contents(many)];
    assert.deepEqual([...y.keys()], [...x.keys()]);
    for (const [key, value] of x) assert.equal(y.get(key), value, key);
  });
});
