/**
 * The roll-up of a large log in steps (rollup.ts, swapLogInSteps): forced on small heavy
 * logs (stepBytes 0), it must leave every byte of the log and its digest as the one-call
 * swap does, and no step may leave a torn state: what the indexer appends between the
 * steps is kept, readers during the steps see the old log and digest, a second roll-up of
 * the same log leaves it to the first, and a run that stops before its swap leaves staged
 * keys that expire, after which the next run rolls the log up and the stopped one, if it
 * wakes, changes nothing, while a run that is only slow keeps its lock from step to step.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import type { FirehoseEvent } from "@bsky/shared/events";
import { connectRedis, type Redis } from "@bsky/shared/redis";
import { startRedisServer } from "@bsky/shared/testing/redis_server";
import { Applier } from "./apply.ts";
import { idOf } from "./ids.ts";
import { topInteractionsByDigests, topInteractionsByScan } from "./interactions.ts";
import { HOUR_MS, storeKeys, WEEK_HOURS } from "./layout.ts";
import { type DigestOptions, rollUpLogs } from "./rollup.ts";
import { didOf } from "./testing/generate.ts";
import { heavyEvents } from "./testing/heavy.ts";
import { like } from "./testing/fixtures.ts";

const WEEK_MS = WEEK_HOURS * HOUR_MS;
/** A store week two weeks from now (Redis expires by the real clock): 3 days in it. */
const START = (Math.floor(Date.now() / WEEK_MS) + 2) * WEEK_MS;
const WEEK = Math.floor(START / WEEK_MS);
const HOURS = 72;
const DIGEST = { digestMinHeld: 400, headBytes: 120 };
/** In steps, the log read in parts of an odd size (not a whole number of entries). */
const STEPS: DigestOptions = { ...DIGEST, stepBytes: 0, readBytes: 999 };
const ONE_CALL: DigestOptions = { ...DIGEST, stepBytes: Infinity };
const HEAVY = 0;

/** The heavy account's traffic, an array of events per hour from START. */
const HOURLY = [
  ...heavyEvents({
    heavy: HEAVY,
    firstFan: 1,
    fans: 300,
    received: 6000,
    sent: 300,
    start: START,
    spanMs: HOURS * HOUR_MS,
    seed: 3,
  }),
];

interface Store {
  redis: Redis;
  applier: Applier;
  [Symbol.asyncDispose](): Promise<void>;
}

async function store(): Promise<Store> {
  const server = await startRedisServer();
  const redis = await connectRedis(server.url, { name: "test" });
  return {
    redis,
    applier: new Applier(redis, { retentionDays: 30, memoryHours: 48 }),
    async [Symbol.asyncDispose]() {
      redis.disconnect();
      await server[Symbol.asyncDispose]();
    },
  };
}

/** The heavy account's log and digest of the week, as bytes, with their expiries. */
async function state(redis: Redis) {
  const id = (await idOf(redis, didOf(HEAVY)))!;
  const log = storeKeys.log(id, WEEK), digest = storeKeys.digest(id, WEEK);
  const fields = await redis.hgetallBuffer(digest);
  return {
    log: (await redis.getBuffer(log))?.toString("hex"),
    digest: Object.entries(fields).map(([f, v]) => `${f}=${v.toString("hex")}`).sort(),
    expiries: [
      await redis.call("PEXPIRETIME", log),
      Object.keys(fields).length ? await redis.call("PEXPIRETIME", digest) : "none",
    ],
  };
}

/** The roll-up's keys of the heavy account left in Redis (locks and staged keys). */
async function leftOver(redis: Redis): Promise<string[]> {
  const id = (await idOf(redis, didOf(HEAVY)))!;
  return (await redis.keys(`ru:{${id}}:*`)).sort();
}

const logKey = async (redis: Redis) => storeKeys.log((await idOf(redis, didOf(HEAVY)))!, WEEK);
/** The scheduler's roll-up of the heavy log at :20 past `hour` (from START). */
const rollAt = async (redis: Redis, hour: number, options: DigestOptions) =>
  await rollUpLogs(
    redis,
    [await logKey(redis)],
    WEEK,
    START + hour * HOUR_MS + 20 * 60_000,
    options,
  );

/** The circles read from the digests and from the logs, at `hour`. */
async function answers(redis: Redis, hour: number) {
  const out: unknown[] = [];
  for (const windowHours of [5, 24, 48, 72]) {
    const options = {
      direction: "both" as const,
      windowHours,
      limit: 20,
      now: START + hour * HOUR_MS + 30 * 60_000,
    };
    out.push(await topInteractionsByDigests(redis, didOf(HEAVY), options));
    out.push(await topInteractionsByScan(redis, didOf(HEAVY), options));
  }
  return out;
}

Deno.test("a roll-up in steps leaves the log and its digest byte for byte as one call does", async () => {
  await using steps = await store();
  await using oneCall = await store();
  let digested = 0;
  for (let hour = 0; hour < HOURS + 30; hour++) {
    for (const s of [steps, oneCall]) await s.applier.apply(HOURLY[hour] ?? []);
    const [a, b] = [
      await rollAt(steps.redis, hour, STEPS),
      await rollAt(oneCall.redis, hour, ONE_CALL),
    ];
    assert.deepEqual(a, b, `hour ${hour}: the bytes before and after`);
    const [x, y] = [await state(steps.redis), await state(oneCall.redis)];
    assert.deepEqual(x, y, `hour ${hour}`);
    if (x.digest.length) digested++;
    assert.deepEqual(await leftOver(steps.redis), [], "no lock or staged key is left");
  }
  assert.ok(digested > HOURS / 2, `the log was digested (${digested} hours)`);
});

/** Both stores with the first `hours` of traffic, rolled up hourly the same way. */
async function twoStores(hours: number) {
  const steps = await store(), reference = await store();
  for (let hour = 0; hour < hours; hour++) {
    for (const s of [steps, reference]) {
      await s.applier.apply(HOURLY[hour]);
      await rollAt(s.redis, hour, ONE_CALL);
    }
  }
  assert.deepEqual(await state(steps.redis), await state(reference.redis));
  return { steps, reference };
}

/** Likes of the heavy account made at `hour`, after everything else in it. */
const lateLikes = (hour: number, n: number): FirehoseEvent[] =>
  Array.from(
    { length: n },
    (_, k) =>
      like(
        didOf(1 + k),
        `3kzzzzzzz${String(k).padStart(3, "0")}`,
        didOf(HEAVY),
        START + hour * HOUR_MS + 59 * 60_000,
      ),
  );

Deno.test("between the steps, readers see the old log and digest and appends are kept", async () => {
  const { steps, reference } = await twoStores(50);
  await using _a = steps;
  await using _b = reference;
  const hour = 50, before = await state(steps.redis);
  await steps.applier.apply(HOURLY[hour]);
  await reference.applier.apply(HOURLY[hour]);
  const applied = await state(steps.redis), read = await answers(steps.redis, hour);
  let hooked = 0;
  const appended = lateLikes(hour, 40);
  await rollAt(steps.redis, hour, {
    ...STEPS,
    beforeSwap: async (key) => {
      hooked++;
      assert.equal(key, await logKey(steps.redis));
      // Staged but not swapped: readers see the log and digest as they were.
      assert.deepEqual(await state(steps.redis), applied);
      assert.deepEqual(await answers(steps.redis, hour), read);
      assert.ok((await leftOver(steps.redis)).length >= 2, "a lock and staged keys");
      // The indexer appends to the log meanwhile.
      await steps.applier.apply(appended);
    },
  });
  assert.equal(hooked, 1);
  await rollAt(reference.redis, hour, ONE_CALL);
  await reference.applier.apply(appended);
  const after = await state(steps.redis);
  assert.notDeepEqual(after, before);
  assert.deepEqual(after, await state(reference.redis), "the appended entries follow the swap");
  assert.deepEqual(await answers(steps.redis, hour), await answers(reference.redis, hour));
  assert.deepEqual(await leftOver(steps.redis), []);
});

Deno.test("a second roll-up of a log being rolled up in steps leaves it to the first", async () => {
  const { steps, reference } = await twoStores(40);
  await using _a = steps;
  await using _b = reference;
  const hour = 40;
  for (const s of [steps, reference]) await s.applier.apply(HOURLY[hour]);
  const applied = await state(steps.redis);
  await rollAt(steps.redis, hour, {
    ...STEPS,
    beforeSwap: async () => {
      // In steps or in one call, the other run changes nothing and counts the log as is.
      for (const options of [STEPS, ONE_CALL]) {
        const count = await rollAt(steps.redis, hour, options);
        assert.equal(count.keys, 1);
        assert.equal(count.after, count.before);
        assert.deepEqual(await state(steps.redis), applied);
      }
    },
  });
  await rollAt(reference.redis, hour, ONE_CALL);
  assert.deepEqual(await state(steps.redis), await state(reference.redis));
  assert.notDeepEqual(await state(steps.redis), applied);
  assert.deepEqual(await leftOver(steps.redis), []);
});

Deno.test("a run stopped before its swap leaves keys that expire; a later run rolls up, the stopped one changes nothing", async () => {
  const { steps, reference } = await twoStores(60);
  await using _a = steps;
  await using _b = reference;
  // Long enough for the checks below to run while the lock holds, on a loaded machine too.
  const hour = 60, ttl = 3000;
  for (const s of [steps, reference]) await s.applier.apply(HOURLY[hour]);
  const applied = await state(steps.redis);
  let staged!: () => void, wake!: () => void;
  const stagedDone = new Promise<void>((r) => staged = r);
  const woken = new Promise<void>((r) => wake = r);
  const stopped = rollAt(steps.redis, hour, {
    ...STEPS,
    stagingTtlMs: ttl,
    beforeSwap: async () => {
      staged();
      await woken;
    },
  });
  await stagedDone;
  const left = await leftOver(steps.redis);
  assert.ok(left.some((k) => k.endsWith(":lock")) && left.length >= 2, left.join(" "));
  for (const key of left) {
    const pttl = await steps.redis.pttl(key);
    assert.ok(pttl > 0 && pttl <= ttl, `${key} expires (${pttl} ms)`);
  }
  assert.deepEqual(await state(steps.redis), applied);
  // Before the lock expires, another run leaves the log alone.
  await rollAt(steps.redis, hour, STEPS);
  assert.deepEqual(await state(steps.redis), applied);
  await new Promise((r) => setTimeout(r, ttl + 100));
  assert.deepEqual(await leftOver(steps.redis), [], "the staged keys and the lock expired");
  assert.deepEqual(await state(steps.redis), applied, "readers never saw the staged keys");
  // The next run rolls the log up; the stopped one then wakes and changes nothing.
  await rollAt(steps.redis, hour, STEPS);
  await rollAt(reference.redis, hour, ONE_CALL);
  const rolled = await state(reference.redis);
  assert.deepEqual(await state(steps.redis), rolled);
  wake();
  const count = await stopped;
  assert.equal(count.after, count.before, "the stopped run counts the log as it read it");
  assert.deepEqual(await state(steps.redis), rolled);
  assert.deepEqual(await leftOver(steps.redis), []);
});

Deno.test("a roll-up in steps slower than its lock's life renews the lock from step to step and completes", async () => {
  const { steps, reference } = await twoStores(60);
  await using _a = steps;
  await using _b = reference;
  const hour = 60, ttl = 1500;
  for (const s of [steps, reference]) await s.applier.apply(HOURLY[hour]);
  const applied = await state(steps.redis);
  let stepsTaken = 0;
  const started = performance.now();
  await rollAt(steps.redis, hour, {
    ...STEPS,
    stagingTtlMs: ttl,
    beforeStep: async () => {
      stepsTaken++;
      await new Promise((r) => setTimeout(r, 600));
    },
  });
  assert.ok(stepsTaken >= 3, `${stepsTaken} steps`);
  assert.ok(performance.now() - started > ttl, "the run outlived its lock's first life");
  await rollAt(reference.redis, hour, ONE_CALL);
  const rolled = await state(reference.redis);
  assert.notDeepEqual(rolled, applied, "the hour had a roll-up to do");
  assert.deepEqual(await state(steps.redis), rolled);
  assert.deepEqual(await leftOver(steps.redis), [], "no lock or staged key is left");
});

Deno.test("the swap in steps refuses a log rewritten since it was read", async () => {
  const { steps, reference } = await twoStores(30);
  await using _a = steps;
  await using _b = reference;
  const hour = 30;
  for (const s of [steps, reference]) await s.applier.apply(HOURLY[hour]);
  let hooked = 0;
  await rollAt(steps.redis, hour, {
    ...STEPS,
    beforeSwap: async (key) => {
      // A rewrite of the bytes the swap checks (its last two entries swapped, which keeps
      // the log's length and meaning): the swap sees it and the roll-up reads it again. The
      // swap checks the length and the first and last bytes only: under the lock nothing
      // but the indexer's appends may change the log.
      if (hooked++) return;
      const log = (await steps.redis.getBuffer(key))!;
      const n = log.length, last = log.subarray(n - 5), before = log.subarray(n - 10, n - 5);
      assert.notDeepEqual(last, before);
      await steps.redis.setrange(key, n - 10, Buffer.concat([last, before]));
    },
  });
  assert.equal(hooked, 2, "read again after the refused swap");
  // The same roll-up as the reference's, but for the order of the entries after it.
  await rollAt(reference.redis, hour, ONE_CALL);
  const [x, y] = [await state(steps.redis), await state(reference.redis)];
  assert.deepEqual([x.digest, x.expiries, x.log?.length], [y.digest, y.expiries, y.log?.length]);
  assert.deepEqual(await answers(steps.redis, hour), await answers(reference.redis, hour));
  assert.deepEqual(await leftOver(steps.redis), []);
});
