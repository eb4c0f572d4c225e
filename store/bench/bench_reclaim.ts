/**
 * The reclaiming of idle accounts' ids in the retention sweep: `--accounts` interned DIDs
 * (100,000 by default), a share of them still active (a log this week, a follow set, a
 * profile) and the rest idle, then the scheduler's sweep twice (the first retires the idle
 * ones, the second reclaims them). Prints each sweep's duration, what it did, the longest
 * any one Redis call of it took (SLOWLOG, each command of the reclaiming apart), and the
 * interning's memory before and after; ends with one JSON line.
 *
 *   deno run --allow-all store/bench/bench_reclaim.ts [--accounts 100000] [--active 0.3]
 */
import { parseArgs } from "node:util";
import { connectRedis } from "@bsky/shared/redis";
import { startRedisServer } from "@bsky/shared/testing/redis_server";
import { sweep } from "@bsky/scheduler/jobs/sweep";
import { Applier } from "../apply.ts";
import { HOUR_MS, storeKeys, WEEK_HOURS } from "../layout.ts";
import { didOf } from "../testing/generate.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    accounts: { type: "string", default: "100000" },
    active: { type: "string", default: "0.3" },
    now: { type: "string" },
  },
});
const ACCOUNTS = Number(values.accounts), ACTIVE = Number(values.active);
/** The sweep's instant: the only reading of the clock, here at the entry point. */
const NOW = values.now ? Number(values.now) : Date.now();
const say = (s = "") => console.log(s);

await using server = await startRedisServer();
const redis = await connectRedis(server.url, { name: "bench-reclaim" });
const applier = new Applier(redis, { retentionDays: 30, memoryHours: 48 });
const dids = Array.from({ length: ACCOUNTS }, (_, k) => didOf(k + 1));
const ids = await applier.ids(dids);
// Active accounts: a log this week, a follow set or a profile (a third each).
const week = Math.floor(NOW / HOUR_MS / WEEK_HOURS);
let pipe = redis.pipeline();
let active = 0;
for (const [k, did] of dids.entries()) {
  if ((k * 7919) % 1000 >= ACTIVE * 1000) continue;
  const id = ids.get(did)!;
  active++;
  if (k % 3 === 0) pipe.set(storeKeys.log(id, week), "abcde", "EX", 86400);
  else if (k % 3 === 1) pipe.sadd(storeKeys.graph(id), "1").expire(storeKeys.graph(id), 86400);
  else pipe.hset(storeKeys.profile(id), "status", "deactivated");
  if (pipe.length >= 5000) {
    await pipe.exec();
    pipe = redis.pipeline();
  }
}
await pipe.exec();
const interning = async () => {
  let bytes = Number(await redis.memory("USAGE", storeKeys.didToId) ?? 0);
  for (let b = 0; b * 128 <= ACCOUNTS + 1; b++) {
    bytes += Number(await redis.memory("USAGE", storeKeys.idToDid(b * 128)) ?? 0);
  }
  return bytes;
};
const before = await interning();
say(`${ACCOUNTS.toLocaleString("en-US")} accounts interned, ${active} with something left`);
await redis.config("SET", "slowlog-log-slower-than", "1000");
await redis.config("SET", "slowlog-max-len", "1000000");
const runs = [];
for (const n of [1, 2]) {
  await redis.slowlog("RESET");
  await redis.config("RESETSTAT");
  const t = performance.now();
  const report = await sweep(redis, { retentionDays: 30, fix: true, now: NOW + n * 60_000 });
  const ms = performance.now() - t;
  const slow = (await redis.slowlog("GET", 100_000)) as [number, number, number, string[]][];
  // By step of the reclaiming (the script's first argument) or command; the cheapest
  // commands' longest is what the machine's scheduling adds to any call.
  const longest: Record<string, number> = {}, times: Record<string, number[]> = {};
  let over50 = 0;
  for (const [, , micros, args] of slow) {
    const step = ["find", "reclaim"].includes(args[3]) ? args[3] : "other";
    const name = args[0].toLowerCase() === "evalsha" ? `script ${step}` : args[0].toLowerCase();
    longest[name] = Math.max(longest[name] ?? 0, micros / 1000);
    (times[name] ??= []).push(micros / 1000);
    if (micros > 50_000) over50++;
  }
  const median = Object.fromEntries(
    Object.entries(times).map(([k, v]) => [k, v.sort((a, b) => a - b)[v.length >> 1]]),
  );
  // The scripts' mean time per call (EVALSHA: the reclaiming's steps and the profiles').
  const stats = await redis.info("commandstats");
  const evalsha = /cmdstat_evalsha:calls=(\d+),usec=\d+,usec_per_call=([\d.]+)/.exec(stats);
  const scriptMean = evalsha ? Number(evalsha[2]) / 1000 : 0;
  const retiring = Number(await redis.memory("USAGE", storeKeys.retiringIds) ?? 0);
  runs.push({
    ms,
    ids: report.ids,
    longestMs: longest,
    slowCalls: slow.length,
    over50,
    scriptMean,
    retiring,
  });
  say(
    `sweep ${n}: ${(ms / 1000).toFixed(1)} s, ids ${JSON.stringify(report.ids)}; longest Redis ` +
      `call by kind (ms) ${JSON.stringify(longest)}, median of those over 1 ms ` +
      `${JSON.stringify(median)}; ${slow.length} calls over 1 ms, ${over50} over 50 ms; ` +
      `scripts ${scriptMean.toFixed(2)} ms a call on average (${evalsha?.[1]} calls); the ` +
      `retiring ids take ${(retiring / 1e6).toFixed(2)} MB`,
  );
}
const after = await interning();
const free = Number(await redis.memory("USAGE", storeKeys.freeIds) ?? 0);
say(
  `interning ${(before / 1e6).toFixed(1)} MB before, ${(after / 1e6).toFixed(1)} MB after; ` +
    `the free list ${(free / 1e6).toFixed(2)} MB`,
);
redis.disconnect();
console.log(JSON.stringify({ accounts: ACCOUNTS, active, runs, before, after, free }));
