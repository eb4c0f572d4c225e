/**
 * Circles of one heavy account: `--received` interactions (10^6 by default) from `--fans`
 * distinct accounts (300,000) over `--days` days (7) ending at `--now`, applied through the
 * store's write path hour by hour with the roll-up of that account's logs after each hour,
 * as the scheduler runs it. Then it prints, for windows of 24 h, 7 d and 30 d:
 *
 * - the uncached latency (p50, p99) of topInteractions (49 people, blocked ones left out,
 *   as circles ask) and of the plain scan of the logs it falls back to;
 * - where the plain scan spends its time: fetching the logs, decoding and tallying them,
 *   and the rest (ranking, hidden and blocked checks, DIDs);
 * - the heavy account's bytes in Redis (MEMORY USAGE): its logs and its digests;
 *
 * and ends with one JSON line. It also tells the longest a single Redis call of the heavy
 * account's roll-ups held the server (SLOWLOG, every call logged while they run): of the
 * hourly ones, and of one more at the end, a day and two hours after `--now`, that rolls
 * every day left into day cells. With `--data <dir>`, the store is saved there after the
 * apply (dump.rdb) and loaded from there by later runs of the same parameters, which then
 * only measure.
 *
 *   deno run --allow-all store/bench/bench_heavy.ts [--received 1000000] [--fans 300000]
 */
import { parseArgs } from "node:util";
import { connectRedis } from "@bsky/shared/redis";
import { startRedisServer } from "@bsky/shared/testing/redis_server";
import { Applier } from "../apply.ts";
import { idOf } from "../ids.ts";
import { DIGEST_MIN_HELD, HEAD_BYTES } from "../digest.ts";
import {
  type Direction,
  topInteractions,
  topInteractionsByDigests,
  topInteractionsByScan,
} from "../interactions.ts";
import { HOUR_MS, storeKeys, WEEK_HOURS } from "../layout.ts";
import { rollUpLogs } from "../rollup.ts";
import { didOf } from "../testing/generate.ts";
import { heavyEvents } from "../testing/heavy.ts";
import { percentile } from "./probe.ts";
import { scanParts } from "./scan_parts.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    received: { type: "string", default: "1000000" },
    fans: { type: "string", default: "300000" },
    sent: { type: "string", default: "20000" },
    days: { type: "string", default: "7" },
    queries: { type: "string", default: "40" },
    seed: { type: "string", default: "7" },
    now: { type: "string" },
    data: { type: "string" },
    "digest-min": { type: "string", default: String(DIGEST_MIN_HELD) },
    "head-bytes": { type: "string", default: String(HEAD_BYTES) },
  },
});
const RECEIVED = Number(values.received), FANS = Number(values.fans);
const DAYS = Number(values.days), QUERIES = Number(values.queries);
/** The instant the window ends: the only reading of the clock, here at the entry point. */
const NOW = values.now ? Number(values.now) : Math.floor(Date.now() / HOUR_MS) * HOUR_MS;
const CIRCLE = 8 + 15 + 26;
const say = (s = "") => console.log(s);

const params = JSON.stringify({ ...values, now: NOW, queries: undefined });
const saved = values.data &&
  await Deno.readTextFile(`${values.data}/params.json`).catch(() => "") === params;
await using server = await startRedisServer({
  extraArgs: values.data ? ["--dir", values.data, "--dbfilename", "dump.rdb"] : [],
});
const redis = await connectRedis(server.url, { name: "bench-heavy" });
// Every call is logged while a roll-up runs (the log is emptied before each).
await redis.config("SET", "slowlog-log-slower-than", "0");
await redis.config("SET", "slowlog-max-len", "1000000");
const applier = new Applier(redis, { retentionDays: 30, memoryHours: 48 });
const HEAVY = 0;
const start = NOW - DAYS * 24 * HOUR_MS;
const t0 = performance.now();
let events = 0, rollMs = 0;

/**
 * The Redis calls of roll-ups, from SLOWLOG: how many, the longest (µs and command), how
 * many took 10 ms or more, and the longest of those whose work is tiny and fixed (STRLEN,
 * HGET, HEXISTS, EXISTS): what the machine's scheduling adds to any call.
 */
class RollCalls {
  calls = 0;
  us = 0;
  call = "";
  over10 = 0;
  noiseUs = 0;

  async during(work: () => Promise<unknown>): Promise<void> {
    await redis.slowlog("RESET");
    await work();
    const entries = await redis.call("SLOWLOG", "GET", "-1") as unknown[][];
    for (const entry of entries) {
      const args = ((entry[3] as unknown[]) ?? []).map(String);
      const name = args[0]?.toLowerCase();
      if (name === "slowlog") continue;
      this.calls++;
      const us = Number(entry[2]);
      if (us >= 10_000) this.over10++;
      if (["strlen", "hget", "hexists", "exists"].includes(name)) {
        this.noiseUs = Math.max(this.noiseUs, us);
      }
      if (us > this.us) {
        this.us = us;
        this.call = args.slice(0, 3).map((a) => a.length > 30 ? `${a.slice(0, 30)}…` : a)
          .join(" ");
      }
    }
  }

  toString(): string {
    return `${
      (this.us / 1000).toFixed(2)
    } ms (${this.call}); ${this.over10} of ${this.calls} calls took 10 ms or more; the longest of a fixed tiny work ${
      (this.noiseUs / 1000).toFixed(2)
    } ms`;
  }
}
const hourlyCalls = new RollCalls();
let hour = Math.floor(start / HOUR_MS);
let heavyId = saved ? (await idOf(redis, didOf(HEAVY)))! : -1;
if (saved) say(`Loaded the store from ${values.data}`);
else if (values.data) await redis.flushall();
for (
  const batch of heavyEvents({
    heavy: HEAVY,
    firstFan: 1,
    fans: FANS,
    received: RECEIVED,
    sent: Number(values.sent),
    start,
    spanMs: NOW - start,
    seed: Number(values.seed),
  })
) {
  if (saved) break;
  for (let i = 0; i < batch.length; i += 2000) await applier.apply(batch.slice(i, i + 2000));
  events += batch.length;
  hour++;
  if (heavyId < 0) heavyId = (await idOf(redis, didOf(HEAVY)))!;
  // The scheduler's hourly roll-up at :20, of the heavy account's logs.
  const at = hour * HOUR_MS + 20 * 60_000;
  const week = Math.floor(hour / WEEK_HOURS);
  const r0 = performance.now();
  await hourlyCalls.during(async () => {
    for (const w of [week - 1, week]) await rollUp(w, at);
  });
  rollMs += performance.now() - r0;
}
function rollUp(week: number, at: number) {
  return rollUpLogs(redis, [storeKeys.log(heavyId, week)], week, at, {
    digestMinHeld: Number(values["digest-min"]),
    headBytes: Number(values["head-bytes"]),
  });
}
if (values.data && !saved) {
  await redis.save();
  await Deno.writeTextFile(`${values.data}/params.json`, params);
}
say(
  `Applied ${events.toLocaleString("en-US")} events in ${
    ((performance.now() - t0) / 1000).toFixed(1)
  } s; the heavy account's hourly roll-ups took ${(rollMs / 1000).toFixed(1)} s in all`,
);

say(`The longest Redis call of the hourly roll-ups: ${hourlyCalls}`);
// One more roll-up, a day and two hours on: every day left goes into day cells. Measured
// on a copy of the heavy account's logs, so that the windows below are those applied.
const LATER = NOW + 26 * HOUR_MS;
const laterCalls = new RollCalls();
for (
  const w of new Set([
    Math.floor(start / HOUR_MS / WEEK_HOURS),
    Math.floor(NOW / HOUR_MS / WEEK_HOURS),
  ])
) {
  const key = storeKeys.log(heavyId, w), copy = storeKeys.log(heavyId, `${w}c`);
  await redis.copy(key, copy, "REPLACE");
  await redis.copy(storeKeys.digest(heavyId, w), storeKeys.digest(heavyId, `${w}c`), "REPLACE");
  await laterCalls.during(() =>
    rollUpLogs(redis, [copy], w, LATER, {
      digestMinHeld: Number(values["digest-min"]),
      headBytes: Number(values["head-bytes"]),
    })
  );
  await redis.del(copy, storeKeys.digest(heavyId, `${w}c`));
}
say(`The longest Redis call of one roll-up a day later: ${laterCalls}`);

const did = didOf(HEAVY);
const ask = (windowHours: number, direction: Direction) => ({
  direction,
  windowHours,
  limit: CIRCLE,
  now: NOW,
  excludeBlocked: true,
});

async function latency(
  fn: typeof topInteractions,
  windowHours: number,
  direction: Direction,
): Promise<{ p50: number; p99: number }> {
  const ms: number[] = [];
  for (let i = 0; i < QUERIES; i++) {
    const t = performance.now();
    await fn(redis, did, ask(windowHours, direction));
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  return { p50: percentile(ms, 0.5), p99: percentile(ms, 0.99) };
}

/** Where the plain scan spends its time: the logs' GET, then scanLog into tallies. */
async function heavyScanParts(windowHours: number) {
  const p = await scanParts(redis, heavyId, windowHours, NOW, Math.max(5, QUERIES / 4));
  return {
    fetchMs: p.fetchMs,
    tallyMs: p.tallyMs,
    bytes: p.bytes,
    visits: p.visits,
    people: p.people,
  };
}

const results: Record<string, unknown> = {};
for (const [label, windowHours] of [["24h", 24], ["7d", 168], ["30d", 720]] as const) {
  for (const direction of ["both", "received"] as const) {
    // The digests' answer, when they settle it, is the scan's.
    const merged = await topInteractionsByDigests(redis, did, ask(windowHours, direction));
    const scanned = await topInteractionsByScan(redis, did, ask(windowHours, direction));
    if (merged && JSON.stringify(merged) !== JSON.stringify(scanned)) {
      const diff = merged.map((m, k) => [m, scanned?.[k]]).filter(([a, b]) =>
        JSON.stringify(a) !== JSON.stringify(b)
      );
      throw new Error(
        `The digests' answer for ${label} ${direction} is not the scan's: ${
          JSON.stringify(diff.slice(0, 3))
        } (${merged.length} and ${scanned?.length})`,
      );
    }
    say(`${label} ${direction}: ${merged ? "the digests settle it" : "the logs are scanned"}`);
    const fast = await latency(topInteractions, windowHours, direction);
    const scan = await latency(topInteractionsByScan, windowHours, direction);
    results[`${label}:${direction}`] = { fast, scan };
    say(
      `${label} ${direction}: topInteractions p50 ${fast.p50.toFixed(1)} ms, p99 ${
        fast.p99.toFixed(1)
      } ms; plain scan p50 ${scan.p50.toFixed(1)} ms, p99 ${scan.p99.toFixed(1)} ms`,
    );
  }
  const parts = await heavyScanParts(windowHours);
  results[`${label}:scanParts`] = parts;
  say(
    `  the plain scan's ${(parts.bytes / 1e6).toFixed(2)} MB of logs: fetching ${
      parts.fetchMs.toFixed(1)
    } ms, decoding and tallying ${parts.visits.toLocaleString("en-US")} entries and cells of ${
      parts.people.toLocaleString("en-US")
    } people ${parts.tallyMs.toFixed(1)} ms`,
  );
}

// The heavy account's keys: its logs and whatever else carries its hash tag.
const keys: string[] = [];
let cursor = "0";
do {
  const [next, found] = await redis.scan(cursor, "MATCH", `*{${heavyId}}*`, "COUNT", 10000);
  cursor = next;
  keys.push(...found);
} while (cursor !== "0");
const memory: Record<string, number> = {};
for (const key of keys) {
  const family = key.slice(0, key.indexOf("{"));
  memory[family] = (memory[family] ?? 0) + (await redis.memory("USAGE", key) ?? 0);
}
say(`The heavy account's keys (MEMORY USAGE, bytes by family): ${JSON.stringify(memory)}`);
redis.disconnect();
console.log(
  JSON.stringify({
    received: RECEIVED,
    fans: FANS,
    days: DAYS,
    now: NOW,
    results,
    memory,
    longestRollUpCallUs: { hourly: hourlyCalls.us, later: laterCalls.us },
  }),
);
