/**
 * `deno task bench:scheduler`: a network day of generated events (heavy-tailed popularity)
 * goes through the indexer's apply path into a local redis-server, and through the
 * firehose's publish step for the network counters. Prints how long the top-list job
 * takes (24 h alone, and 24 h with 7 d), and Redis memory of the counters.
 *
 *   deno run -A scheduler/bench/bench_scheduler.ts [--events 3000000] [--accounts 150000]
 */
import { parseArgs } from "node:util";
import { connectRedis } from "@bsky/shared/redis";
import { startRedisServer } from "@bsky/shared/testing/redis_server";
import { Publisher } from "@bsky/firehose/publisher";
import { countEvent, emptyCounts } from "@bsky/firehose/network_counts";
import { Applier } from "@bsky/store/apply";
import { generateEvents } from "@bsky/store/testing/generate";
import { countersMemory, rollUpCounters } from "../jobs/counters.ts";
import { computeTopLists } from "../jobs/top_lists.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    events: { type: "string", default: "3000000" },
    accounts: { type: "string", default: "150000" },
  },
});
const EVENTS = Number(values.events), ACCOUNTS = Number(values.accounts);
const HOUR = 3_600_000;
const fmt = (n: number, d = 0) =>
  n.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });

await using server = await startRedisServer();
const redis = await connectRedis(server.url, { name: "bench" });
const now = Date.now();
console.log(`Workload: ${fmt(EVENTS)} events, ${fmt(ACCOUNTS)} accounts, over the last 23 hours`);
const applier = new Applier(redis, { retentionDays: 30, memoryHours: 48 });
const publisher = new Publisher(redis, { partitions: 1, maxLen: 1000, source: "relay" });
let batch = [], cursor: number | undefined;
const t0 = performance.now();
for (
  const e of generateEvents({
    accounts: ACCOUNTS,
    events: EVENTS,
    seed: 42,
    start: now - 23 * HOUR,
    spanMs: 23 * HOUR,
  })
) {
  batch.push(e);
  if (batch.length === 2000) {
    await applier.apply(batch);
    const counts = emptyCounts();
    for (const x of batch) countEvent(counts, x);
    await publisher.publish([[]], cursor, e.seq, counts);
    cursor = e.seq;
    batch = [];
  }
}
if (batch.length) await applier.apply(batch);
console.log(`Filled in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
const info = await redis.info("memory");
const used = Number(/used_memory:(\d+)/.exec(info)![1]);

const runs: Record<string, number[]> = { "24h": [], "24h+7d": [] };
let last: Awaited<ReturnType<typeof computeTopLists>> | undefined;
for (let i = 0; i < 3; i++) {
  for (const [label, windows] of [["24h", ["24h"]], ["24h+7d", ["24h", "7d"]]] as const) {
    const s = performance.now();
    last = await computeTopLists(redis, { size: 100, windows, now });
    runs[label].push((performance.now() - s) / 1000);
  }
}
const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
await rollUpCounters(redis, now);
const counters = await countersMemory(redis);

console.log("");
console.log(
  `Store: ${fmt(last!.logs)} logs, ${fmt(last!.bytes / 1e6, 1)} MB of log bytes read per run, ` +
    `${fmt(used / 1e6, 1)} MB Redis memory`,
);
console.log(`Accounts with interactions in the window: ${fmt(last!.accounts["24h"])}`);
for (const [label, xs] of Object.entries(runs)) {
  console.log(
    `Top-list job (${label}, 12 lists per window): median ${median(xs).toFixed(2)} s of ${
      xs.map((x) => x.toFixed(2)).join(", ")
    }`,
  );
}
console.log(
  `Network counters after a day: ${fmt(counters.keys)} keys, ${
    fmt(counters.bytes / 1e6, 2)
  } MB of Redis memory`,
);
console.log(JSON.stringify({
  bench: "scheduler",
  events: EVENTS,
  accounts: ACCOUNTS,
  topSeconds: { "24h": median(runs["24h"]), "24h+7d": median(runs["24h+7d"]) },
  countersBytes: counters.bytes,
}));
redis.disconnect();
