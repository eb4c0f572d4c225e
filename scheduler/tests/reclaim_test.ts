/**
 * The sweep gives back the ids of accounts idle through the retention, and only theirs:
 * an idle account's id waits one whole sweep, then goes to a new DID, and neither
 * account's answers mix up, also through an indexer that still had the old DID's id in its
 * cache (its batch is refused and its ids read again) and a profile refresh that read the
 * old id. Accounts with anything left keep their ids: a log within the retention, a graph
 * set, a hidden account's profile, another account's follow of them (seen by the sweep, or
 * made while the id waits). Weeks in the future: Redis's own clock expires nothing early.
 */
import assert from "node:assert/strict";
import type { FirehoseEvent } from "@bsky/shared/events";
import { connectRedis } from "@bsky/shared/redis";
import { startRedisServer } from "@bsky/shared/testing/redis_server";
import { Applier } from "@bsky/store/apply";
import { HOUR_MS, storeKeys, WEEK_HOURS } from "@bsky/store/layout";
import { profileVersion, writeCheckedProfile } from "@bsky/store/profiles";
import { didsOf, idOf, topInteractions } from "@bsky/store/queries";
import { didOf, tidOf } from "@bsky/store/testing/generate";
import { sweep } from "../jobs/sweep.ts";

const DAY_MS = 24 * HOUR_MS, WEEK_MS = WEEK_HOURS * HOUR_MS;
const BASE = (Math.floor(Date.now() / WEEK_MS) + 10) * WEEK_MS + 2 * DAY_MS + 5 * HOUR_MS;
const OLD = BASE - 40 * DAY_MS;

let seq = 0, rk = 0;
const commit = (
  did: string,
  collection: string,
  time: number,
  facts: Record<string, unknown>,
): FirehoseEvent => ({
  v: 1,
  kind: "commit",
  seq: ++seq,
  time,
  did,
  action: "create",
  collection: collection as "app.bsky.feed.like",
  rkey: tidOf(rk++),
  ...facts,
});
const like = (did: string, subject: string, time: number) =>
  commit(did, "app.bsky.feed.like", time, { subject });
const follow = (did: string, subject: string, time: number) =>
  commit(did, "app.bsky.graph.follow", time, { subject });

Deno.test("the sweep reclaims idle accounts' ids after a sweep's wait, and nobody's answers mix up", async () => {
  await using server = await startRedisServer();
  const redis = await connectRedis(server.url, { name: "reclaim" });
  try {
    const [A, B, C, D, E, F, G, H, K, L] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map(didOf);
    // An indexer that will still have A's id cached when it comes back.
    const stale = new Applier(redis, { retentionDays: 30, memoryHours: 48 });
    await stale.apply([
      { v: 1, kind: "identity", seq: ++seq, time: OLD, did: A, handle: "a.test" },
      like(A, B, OLD), // A: idle since, its log past the retention
      like(L, B, OLD), // L: idle too, followed while its id waits
      follow(B, F, OLD), // F: idle, but B follows it
      follow(G, B, OLD), // G: its own follows
      {
        v: 1,
        kind: "account",
        seq: ++seq,
        time: OLD,
        did: H,
        active: false,
        status: "deactivated",
      },
      like(K, B, BASE - 2 * DAY_MS), // K: a log within the retention
      like(B, D, BASE - DAY_MS),
    ]);
    const idsBefore = new Map(
      await Promise.all(
        [A, B, F, G, H, K, L].map(async (d) => [d, (await idOf(redis, d))!] as const),
      ),
    );
    const a = idsBefore.get(A)!;
    // What the profile refresh read of A before its id went.
    const seenA = (await profileVersion(redis, A))!;
    const options = { retentionDays: 30, fix: true };
    let reclaimedAt = 0, followedL = false;
    for (let n = 1; n <= 4 && !reclaimedAt; n++) {
      const report = await sweep(redis, { ...options, now: BASE + n * 60_000 });
      if (await idOf(redis, A) === undefined) reclaimedAt = n;
      else assert.equal(report.ids.reclaimed, 0);
      // L waits: a follow of it now keeps it (the sweep has walked past that set already).
      if (!followedL && await redis.sismember(storeKeys.retiringIds, String(idsBefore.get(L)))) {
        await new Applier(redis, { retentionDays: 30, memoryHours: 48 }).apply([
          follow(B, L, BASE + n * 60_000),
        ]);
        assert.equal(await redis.sismember(storeKeys.retiringIds, String(idsBefore.get(L))), 0);
        followedL = true;
      }
    }
    assert.ok(
      reclaimedAt >= 2,
      `not at the first sweep: it waits one (reclaimed at ${reclaimedAt})`,
    );
    assert.ok(followedL, "L retired before the follow");
    assert.deepEqual(await didsOf(redis, [a]), [undefined], "the reverse map dropped it");
    assert.deepEqual(await redis.lrange(storeKeys.freeIds, 0, -1), [String(a)]);
    // Everyone else kept their id and mapping.
    for (const d of [B, F, G, H, K, L]) {
      assert.equal(await idOf(redis, d), idsBefore.get(d), `${d} keeps its id`);
      assert.deepEqual(await didsOf(redis, [idsBefore.get(d)!]), [d]);
    }
    // A new DID gets the id back.
    const fresh = new Applier(redis, { retentionDays: 30, memoryHours: 48 });
    const T = BASE + HOUR_MS;
    await fresh.apply([like(C, E, T)]);
    assert.equal(await idOf(redis, C), a, "C has A's old id");
    // A comes back through the indexer that cached its old id: as author and as subject.
    await stale.apply([like(A, B, T + 60_000), like(D, A, T + 120_000)]);
    const aNow = (await idOf(redis, A))!;
    assert.ok(aNow !== undefined && aNow !== a, "A interned anew");
    // A profile refresh that read A's old id writes nothing over C's.
    assert.equal(await writeCheckedProfile(redis, seenA, { handle: "a.test" }), 0);
    assert.equal(await redis.hget(storeKeys.profile(a), "handle"), null);
    // Nobody's answers mix up.
    const ask = (did: string) =>
      topInteractions(redis, did, {
        direction: "both",
        windowHours: 24,
        limit: 10,
        now: T + HOUR_MS,
      });
    const names = async (did: string) => (await ask(did))?.map((c) => [c.did, c.like]);
    assert.deepEqual(await names(C), [[E, 1]]);
    assert.deepEqual(await names(A), [[B, 1], [D, 1]], "ties by id: B was interned first");
    assert.deepEqual(await names(E), [[C, 1]]);
    const b = await names(B);
    assert.ok(b?.some(([d]) => d === A) && !b?.some(([d]) => d === C), JSON.stringify(b));
    assert.deepEqual(await didsOf(redis, [a, aNow]), [C, A]);
    // Running again changes none of this.
    await sweep(redis, { ...options, now: T + 2 * HOUR_MS });
    for (const d of [A, B, C, F, G, H, K, L]) assert.ok(await idOf(redis, d) !== undefined, d);
  } finally {
    redis.disconnect();
  }
});

Deno.test("a deleted account idle past the retention is let go, and gives its id back once no follow or block of it is left to remember: those go, nobody else's", async () => {
  await using server = await startRedisServer();
  const redis = await connectRedis(server.url, { name: "reclaim" });
  try {
    const [S, F, B, X, Y] = [21, 22, 23, 24, 25].map(didOf);
    const block = (did: string, subject: string, time: number) =>
      commit(did, "app.bsky.graph.block", time, { subject });
    const applier = new Applier(redis, { retentionDays: 30, memoryHours: 48 });
    await applier.apply([
      { v: 1, kind: "identity", seq: ++seq, time: OLD, did: S, handle: "s.test" },
      like(S, X, OLD),
      follow(F, S, OLD),
      follow(F, Y, OLD),
      block(B, S, OLD),
      block(B, Y, OLD),
      { v: 1, kind: "account", seq: ++seq, time: OLD, did: S, active: false, status: "deleted" },
      // F and B are active within the retention: their sets stay.
      like(F, X, BASE - DAY_MS),
      like(B, X, BASE - DAY_MS),
    ]);
    const [s, f, b, y] = await Promise.all([S, F, B, Y].map(async (d) => (await idOf(redis, d))!));
    assert.deepEqual(
      (await redis.smembers(storeKeys.graph(f))).sort(),
      [String(s), String(y)].sort(),
    );
    assert.equal(await redis.sismember(storeKeys.hidden, s), 1);
    const options = { retentionDays: 30, fix: true };
    // Let go at the first sweep; the next ones drop F's follow and B's block of S, and its
    // id waits a retention from then (records the indexer remembers may still name it).
    for (let n = 1; n <= 4; n++) {
      await sweep(redis, { ...options, now: BASE + n * 60_000 });
      assert.equal(await idOf(redis, S), s, `S keeps its id at sweep ${n}`);
      assert.equal(await redis.sismember(storeKeys.hidden, s), 1, "still hidden");
      assert.equal(await redis.hget(storeKeys.profile(s), "status"), "deleted");
      assert.equal(await redis.hget(storeKeys.profile(s), "handle"), null);
    }
    assert.deepEqual(await redis.smembers(storeKeys.graph(f)), [String(y)], "F's follow of S went");
    assert.ok(Number(await redis.zscore(storeKeys.goneIds, String(s))) > 0, "named lately");
    const later = BASE + 31 * DAY_MS;
    let reclaimedAt = 0;
    for (let n = 1; n <= 4 && !reclaimedAt; n++) {
      await sweep(redis, { ...options, now: later + n * 60_000 });
      if (await idOf(redis, S) === undefined) reclaimedAt = n;
    }
    assert.ok(reclaimedAt >= 2, `S's id went back after a sweep's wait (at ${reclaimedAt})`);
    assert.deepEqual(await redis.smembers(storeKeys.graph(f)), [String(y)], "F's follow of S went");
    assert.deepEqual(await redis.smembers(storeKeys.graph(b)), [String(-y)], "B's block of S went");
    const blocking = await redis.zrange(storeKeys.blocking(b), "0", "-1", "WITHSCORES");
    assert.deepEqual(
      blocking.filter((_, k) => k % 2).map((score) => Number(score) % 2 ** 28),
      [y],
      "B's list lost S and kept Y",
    );
    assert.equal(await redis.exists(storeKeys.profile(s), storeKeys.blockedBy(s)), 0);
    assert.equal(await redis.exists(storeKeys.goneIds), 0, "reclaimed: no longer waiting");
    assert.equal(await redis.sismember(storeKeys.hidden, s), 0);
    assert.deepEqual(await redis.zrange(storeKeys.handles, "0", "-1"), []);
    for (const [d, id] of [[F, f], [B, b], [Y, y]] as const) {
      assert.equal(await idOf(redis, d), id, `${d} keeps its id`);
    }
    // The id goes to the next new account, which inherits nothing of S.
    await applier.apply([like(X, Y, later + HOUR_MS)]);
    const fresh = "did:plc:" + "n".repeat(24);
    await applier.apply([follow(fresh, Y, later + HOUR_MS)]);
    assert.equal(await idOf(redis, fresh), s);
    assert.deepEqual(await redis.smembers(storeKeys.graph(f)), [String(y)]);
  } finally {
    redis.disconnect();
  }
});
