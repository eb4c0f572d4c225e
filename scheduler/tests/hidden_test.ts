/**
 * Hidden accounts and the top lists, against a real redis-server filled through the real
 * indexer's apply path with generated events: an account that is deleted, deactivated or
 * opted out counts in no list, neither as an entry nor inside the counts of the accounts it
 * interacted with, and counts again once it is shown again. Every list is compared with the
 * store's own per-account answers and with the ground truth computed from the events.
 */
import assert from "node:assert/strict";
import type { FirehoseEvent } from "@bsky/shared/events";
import type { TruthEvent } from "@bsky/shared/testing/workload";
import { TOP_METRICS, TOP_WINDOWS } from "@bsky/shared/keys";
import { newOptCode } from "@bsky/shared/optout";
import { connectRedis, type Redis } from "@bsky/shared/redis";
import { startRedisServer } from "@bsky/shared/testing/redis_server";
import { Applier } from "@bsky/store/apply";
import { idOf, topInteractions } from "@bsky/store/queries";
import { storeKeys, TYPES } from "@bsky/store/layout";
import { computeTruth } from "@bsky/store/testing/truth";
import { didOf, generateEvents } from "@bsky/store/testing/generate";
import { computeTopLists, WINDOW_HOURS } from "../jobs/top_lists.ts";
import { snapshots, storeTotals } from "../testing/top_lists_check.ts";
import { expectedList, expectedTotals } from "../testing/truth.ts";

const HOUR = 3_600_000;
const ACCOUNTS = 300;
const SIZE = 100;
const DIDS = Array.from({ length: ACCOUNTS }, (_, i) => didOf(i));

async function applyAll(applier: Applier, events: readonly FirehoseEvent[]) {
  for (let i = 0; i < events.length; i += 2000) await applier.apply(events.slice(i, i + 2000));
}

/** An account's counts by type as the interactions answer gives them, summed over people. */
async function interactionSums(
  redis: Redis,
  did: string,
  direction: "sent" | "received",
  windowHours: number,
  now: number,
): Promise<number[]> {
  const items = await topInteractions(redis, did, { direction, windowHours, limit: 1000, now });
  return TYPES.map((t) => (items ?? []).reduce((n, c) => n + c[t], 0));
}

Deno.test("hidden accounts count in no top list, as entries or inside others' counts, and count again once shown", async () => {
  await using server = await startRedisServer();
  const redis = await connectRedis(server.url, { name: "test" });
  try {
    const now = Math.floor(Date.now() / HOUR) * HOUR + HOUR / 2;
    const applier = new Applier(redis, { retentionDays: 30, memoryHours: 48 });
    // 40 hours ago (in the 7 d window only, and still in the record memory so that its
    // deletes subtract), then the last half hour. The first workload's record keys are
    // moved aside so that no record is made twice.
    const old = [...generateEvents({
      accounts: ACCOUNTS,
      events: 10_000,
      seed: 11,
      start: now - 40 * HOUR,
      spanMs: HOUR,
    })].map((e) =>
      e.kind === "commit" && e.rkey.startsWith("3k") ? { ...e, rkey: `3j${e.rkey.slice(2)}` } : e
    );
    const recent = [...generateEvents({
      accounts: ACCOUNTS,
      events: 15_000,
      seed: 12,
      start: now - HOUR / 2,
      spanMs: HOUR / 2 - 1000,
    })];
    await applyAll(applier, [...old, ...recent]);
    const ids = new Map<string, number>();
    for (const did of DIDS) {
      const id = await idOf(redis, did);
      if (id !== undefined) ids.set(did, id);
    }

    // The busiest account of the day, and the three accounts that liked it most.
    const before = expectedTotals(recent as TruthEvent[]).totals;
    const likes = TOP_METRICS.indexOf("likes_received");
    const busiest = [...before].sort((a, b) => b[1][likes] - a[1][likes])[0][0];
    const likers = [...computeTruth(recent as TruthEvent[]).sent]
      .filter(([author]) => author !== busiest)
      .map(([author, bySubject]) => [author, bySubject.get(busiest)?.like ?? 0] as const)
      .sort((a, b) => b[1] - a[1]);
    const [deactivated, deleted, optedOut] = likers.slice(0, 3).map(([did]) => did);
    const hiddenLikes = likers.slice(0, 3).reduce((n, [, k]) => n + k, 0);

    // What the store answers is what the events say, hidden accounts left out everywhere.
    const status: TruthEvent[] = [];
    const check = async (label: string) => {
      await computeTopLists(redis, { size: SIZE, now });
      const got = await snapshots(redis);
      assert.equal(got.size, TOP_WINDOWS.length * TOP_METRICS.length);
      const windows = {
        "24h": expectedTotals([...recent, ...status] as TruthEvent[]),
        "7d": expectedTotals([...old, ...recent, ...status] as TruthEvent[]),
      };
      const listed = new Set<string>();
      for (const w of TOP_WINDOWS) {
        const { totals: truth, hidden } = windows[w];
        const store = await storeTotals(redis, DIDS, WINDOW_HOURS[w], now);
        for (const m of TOP_METRICS) {
          const items = got.get(`${w} ${m}`)!.items;
          const what = `${label}: ${w} ${m}`;
          assert.deepEqual(items, expectedList(truth, hidden, ids, m, SIZE), `${what} (truth)`);
          assert.deepEqual(items, expectedList(store, hidden, ids, m, SIZE), `${what} (store)`);
          for (const item of items) listed.add(item.did);
        }
        // Each listed account's interactions answer sums to its totals.
        for (const did of listed) {
          const row = store.get(did)!;
          for (const [direction, side] of [["received", 0], ["sent", 1]] as const) {
            assert.deepEqual(
              await interactionSums(redis, did, direction, WINDOW_HOURS[w], now),
              TYPES.map((_, i) => row[i * 2 + side]),
              `${label}: ${w} ${did} ${direction}`,
            );
          }
        }
      }
      const busiestLikes = got.get("24h likes_received")!.items.find((i) => i.did === busiest);
      return { listed, busiestLikes: busiestLikes?.count };
    };

    const shown = await check("all shown");
    // Anti-vacuity: the accounts about to be hidden are in lists, and liked the busiest one.
    for (const did of [deactivated, deleted, optedOut]) assert.ok(shown.listed.has(did), did);
    assert.ok(hiddenLikes >= 3, `the hidden accounts liked the busiest ${hiddenLikes} times`);

    // One account deactivates, one is deleted, one opts out with a code it posts.
    let seq = 1e9;
    const account = (did: string, active: boolean, reason?: string): FirehoseEvent => ({
      v: 1,
      kind: "account",
      seq: ++seq,
      time: now - 1000,
      did,
      active,
      ...(reason ? { status: reason } : {}),
    });
    const opt = async (did: string, action: "out" | "in") => {
      const code = newOptCode();
      await redis.set(storeKeys.optCode(code), `${did} ${action}`, "EX", 3600);
      await applier.apply([{
        v: 1,
        kind: "commit",
        seq: ++seq,
        time: now - 1000,
        did,
        action: "create",
        collection: "app.bsky.feed.post",
        rkey: `3kzzzzzzz${action === "out" ? "aaa" : "bbb"}2`,
        chars: 20,
        opt: `${action}:${code}`,
      }]);
      status.push({ kind: "account", did, active: action === "in" });
    };
    await applier.apply([
      account(deactivated, false, "deactivated"),
      account(deleted, false, "deleted"),
    ]);
    status.push(
      { kind: "account", did: deactivated, active: false },
      { kind: "account", did: deleted, active: false },
    );
    await opt(optedOut, "out");
    assert.equal(await redis.scard(storeKeys.hidden), 3);
    const hidden = await check("three hidden");
    for (const did of [deactivated, deleted, optedOut]) assert.ok(!hidden.listed.has(did), did);
    assert.equal(hidden.busiestLikes, shown.busiestLikes! - hiddenLikes);

    // The deactivated account comes back and the opted-out one opts in: both count again.
    await applier.apply([account(deactivated, true)]);
    status.push({ kind: "account", did: deactivated, active: true });
    await opt(optedOut, "in");
    assert.equal(await redis.scard(storeKeys.hidden), 1);
    const back = await check("two shown again");
    for (const did of [deactivated, optedOut]) assert.ok(back.listed.has(did), did);
    assert.ok(!back.listed.has(deleted));
    const deletedLikes = likers.find(([did]) => did === deleted)![1];
    assert.equal(back.busiestLikes, shown.busiestLikes! - deletedLikes);
  } finally {
    redis.disconnect();
  }
});
