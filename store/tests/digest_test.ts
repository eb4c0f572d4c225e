/**
 * Heavy accounts' circles from their day digests (digest_top.ts) against the plain scan of
 * their logs, on generated heavy accounts: fans that like, repost, reply, quote and
 * mention them, likes deleted hours later (undo entries, also of rolled-up days), the
 * account answering some fans, fans hidden and blocked, and many ties. Events are applied
 * hour by hour with the scheduler's hourly roll-up, which digests the heavy logs (at a low
 * threshold, with small heads so that bounds and bucket reads are exercised); at instants
 * spread over every hour of the day, before and after a roll-up and behind it (a reader
 * whose clock is late), every window the API
 * takes (hours, days, weeks, the retention), every direction, several weights and limits
 * must give the scan's answer exactly, with the rounding of rolled-up days the README
 * states (both read the same logs). Redis runs on the real clock, so the weeks are in the
 * future: nothing expires early.
 */
import assert from "node:assert/strict";
import type { FirehoseEvent } from "@bsky/shared/events";
import { connectRedis, type Redis } from "@bsky/shared/redis";
import { startRedisServer } from "@bsky/shared/testing/redis_server";
import { Applier } from "../apply.ts";
import {
  type Direction,
  topInteractions,
  topInteractionsByDigests,
  topInteractionsByScan,
  type TopOptions,
} from "../interactions.ts";
import { mergeCounts } from "../digest_top.ts";
import { idOf } from "../ids.ts";
import { HOUR_MS, keyValues, storeKeys, WEEK_HOURS } from "../layout.ts";
import { rollUpWeeks } from "../rollup.ts";
import { didOf, random } from "../testing/generate.ts";
import { heavyEvents } from "../testing/heavy.ts";

const WEEK_MS = WEEK_HOURS * HOUR_MS;
const DAY_MS = 24 * HOUR_MS;
/** The start of a store week two weeks from now, plus 3 days: windows span two weeks. */
const BASE = (Math.floor(Date.now() / WEEK_MS) + 2) * WEEK_MS + 3 * DAY_MS;
const WINDOWS = [
  1,
  2,
  5,
  12,
  23,
  24,
  25,
  30,
  36,
  47,
  48,
  49,
  60,
  71,
  72,
  100,
  167,
  168,
  169,
  200,
  720,
];
const DIRECTIONS: Direction[] = ["both", "received", "sent", "mutual"];
const WEIGHTS = [undefined, { like: 0, reply: 5 }, { repost: 0.5, mention: 7, quote: 1 }];
const DIGEST = { digestMinHeld: 400, headBytes: 120 };

interface Tally {
  compared: number;
  merged: number;
}

/** Compares the digests' answers with the scan's at `now` over the windows and options. */
async function compare(redis: Redis, dids: string[], now: number, rand: () => number, t: Tally) {
  for (const did of dids) {
    for (const windowHours of WINDOWS) {
      const direction = DIRECTIONS[Math.floor(rand() * DIRECTIONS.length)];
      const options: TopOptions = {
        direction,
        windowHours,
        limit: [1, 5, 10, 49, 100][Math.floor(rand() * 5)],
        weights: WEIGHTS[Math.floor(rand() * WEIGHTS.length)],
        excludeBlocked: rand() < 0.5,
        now,
      };
      const label = `${did} ${JSON.stringify(options)}`;
      const [merged, scanned, answered] = await Promise.all([
        topInteractionsByDigests(redis, did, options),
        topInteractionsByScan(redis, did, options),
        topInteractions(redis, did, options),
      ]);
      assert.deepEqual(answered, scanned, label);
      t.compared++;
      if (merged === undefined) continue;
      t.merged++;
      assert.deepEqual(merged, scanned, label);
    }
  }
}

Deno.test("heavy accounts' circles from their digests are the scan's, at every hour, for every window, direction and weights", async () => {
  await using server = await startRedisServer();
  const redis = await connectRedis(server.url, { name: "digests" });
  try {
    const applier = new Applier(redis, { retentionDays: 30, memoryHours: 48 });
    const rand = random(11);
    // Two heavy accounts sharing fans: one that mostly receives, one that sends as much.
    const start = BASE - 9 * DAY_MS, spanMs = 9 * DAY_MS;
    const streams = [
      heavyEvents({ heavy: 0, firstFan: 10, fans: 300, received: 5000, sent: 600, start, spanMs }),
      heavyEvents({
        heavy: 1,
        firstFan: 150,
        fans: 250,
        received: 2500,
        sent: 2500,
        start,
        spanMs,
        seed: 3,
        skew: 0.6,
      }),
    ];
    const dids = [didOf(0), didOf(1)];
    const t: Tally = { compared: 0, merged: 0 };
    let seq = 1e7;
    const account = (did: string, active: boolean): FirehoseEvent => ({
      v: 1,
      kind: "account",
      seq: ++seq,
      time: start,
      did,
      active,
      status: active ? undefined : "deactivated",
    } as FirehoseEvent);
    for (let h = 0; h < 9 * 24; h++) {
      const batch = [...streams[0].next().value!, ...streams[1].next().value!];
      batch.sort((a, b) => a.time - b.time);
      const hourStart = start + h * HOUR_MS;
      if (h === 30) {
        // Fans hidden (some for good, one back later) and fans blocked by the heavy accounts.
        batch.push(
          account(didOf(10), false),
          account(didOf(12), false),
          account(didOf(160), false),
        );
        for (const [k, fan] of [11, 13, 151].entries()) {
          batch.push({
            v: 1,
            kind: "commit",
            seq: ++seq,
            time: hourStart + 1000,
            did: didOf(k < 2 ? 0 : 1),
            action: "create",
            collection: "app.bsky.graph.block",
            rkey: `3kblock${k}aaaaa`,
            subject: didOf(fan),
          } as FirehoseEvent);
        }
      }
      if (h === 100) batch.push(account(didOf(12), true));
      await applier.apply(batch);
      // Before the hour's roll-up, at a time within the hour (hours after the window's start
      // spread over the day), and after it.
      const within = hourStart + HOUR_MS - 1 - Math.floor(rand() * 50 * 60_000);
      if (h >= 6 * 24 && h % 5 === 0) await compare(redis, dids, within, rand, t);
      await rollUpWeeks(redis, hourStart + HOUR_MS + 20 * 60_000, DIGEST);
      if (h >= 6 * 24 && h % 5 === 2) {
        await compare(redis, dids, hourStart + HOUR_MS + 20 * 60_000, rand, t);
      }
      // A reader whose clock is behind the roll-up's: its window ends before hours rolled up.
      if (h >= 6 * 24 && h % 5 === 4) await compare(redis, dids, hourStart - 10 * 60_000, rand, t);
    }
    // Later instants with nothing new: the last hours roll up into days.
    for (let h = 1; h <= 30; h += 7) {
      const at = start + spanMs + h * HOUR_MS + 20 * 60_000;
      await rollUpWeeks(redis, at, DIGEST);
      await compare(redis, dids, at, rand, t);
    }
    // Anti-vacuity: both accounts are digested, and the digests settle most answers; of the
    // ordinary accounts (the fans) only the few busiest have digests of their own.
    for (const did of dids) {
      const id = (await idOf(redis, did))!;
      const week = Math.floor(BASE / WEEK_MS);
      assert.ok(await redis.exists(storeKeys.digest(id, week)), `${did} has digests`);
    }
    const digested = new Set(
      (await redis.keys(storeKeys.digest("*", "*"))).map((key) => keyValues("digest", key)![0]),
    );
    assert.ok(digested.size >= 2 && digested.size <= 8, `${digested.size} accounts digested`);
    for (const fan of [100, 200, 300]) {
      assert.ok(!digested.has(String(await idOf(redis, didOf(fan)))), `fan ${fan} has none`);
    }
    assert.ok(t.compared > 1000, `${t.compared} answers compared`);
    assert.ok(t.merged > t.compared * 0.3, `${t.merged} of ${t.compared} from the digests`);
    assert.ok(mergeCounts.bucketReads > 1000, `${mergeCounts.bucketReads} bucket reads`);
  } finally {
    redis.disconnect();
  }
});
