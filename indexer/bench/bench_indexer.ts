/**
 * `deno task bench:indexer`: a large event stream with heavy-tailed popularity, spread
 * over 7 days, goes through the real indexer (streams, consumer group, Lua apply) into a
 * local redis-server. Prints interactions/s, Redis commands per event, Redis memory per
 * stored interaction, topInteractions latency for the busiest account, redis-benchmark's
 * pipelined ceiling on the same server, and a one-key-per-interaction JSON layout's memory
 * for comparison.
 *
 *   deno run -A indexer/bench/bench_indexer.ts [--events 1000000] [--accounts 100000]
 *   deno run -A indexer/bench/bench_indexer.ts --cluster  (see bench_cluster.ts)
 */
import { parseArgs } from "node:util";
import process from "node:process";
import type { FirehoseEvent } from "@bsky/shared/events";
import { firehoseKeys } from "@bsky/shared/keys";
import { createLogger } from "@bsky/shared/log";
import { connectRedis, type Redis } from "@bsky/shared/redis";
import { drained } from "./drained.ts";
import { startRedisServer } from "@bsky/shared/testing/redis_server";
import { chunksOf, Publisher } from "@bsky/firehose/publisher";
import { loadIndexerConfig } from "../config.ts";
import { topInteractions, totals } from "@bsky/store/queries";
import { compactWeek } from "@bsky/store/rollup";
import { startIndexer } from "../service.ts";
import { DAY_MS, HOUR_MS, storeKeys } from "@bsky/store/layout";
import { Applier } from "@bsky/store/apply";
import { scriptTime } from "@bsky/store/bench/slow_log";
import { didOf, generateEvents } from "@bsky/store/testing/generate";

// --cluster: the indexer on a Redis Cluster against one server (bench_cluster.ts).
if (Deno.args.includes("--cluster")) {
  await import("./bench_cluster.ts");
  Deno.exit(0);
}
const { values } = parseArgs({
  args: Deno.args,
  options: {
    events: { type: "string", default: "1000000" },
    accounts: { type: "string", default: "100000" },
    partitions: { type: "string", default: "1" },
  },
});
const EVENTS = Number(values.events), ACCOUNTS = Number(values.accounts);
const PARTITIONS = Number(values.partitions);
const say = (s: string) => console.log(s);
const fmt = (n: number, d = 0) =>
  n.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });

async function info(redis: Redis, section: string): Promise<Record<string, string>> {
  const text = await redis.info(section);
  return Object.fromEntries(
    text.split("\r\n").filter((l) => l.includes(":")).map((l) => {
      const i = l.indexOf(":");
      return [l.slice(0, i), l.slice(i + 1)];
    }),
  );
}

async function usedMemory(redis: Redis): Promise<number> {
  return Number((await info(redis, "memory")).used_memory);
}

/** Calls per command since the last CONFIG RESETSTAT. */
async function commandCalls(redis: Redis): Promise<Record<string, number>> {
  const stats = await info(redis, "commandstats");
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(stats)) {
    out[k.replace("cmdstat_", "")] = Number(/calls=(\d+)/.exec(v)?.[1] ?? 0);
  }
  return out;
}

/** Interactions an event adds (what the store counts), for the per-interaction figures. */
function interactions(e: FirehoseEvent): number {
  if (e.kind !== "commit" || e.action !== "create") return 0;
  const self = (d?: string) => d !== undefined && d !== e.did ? 1 : 0;
  switch (e.collection) {
    case "app.bsky.feed.like":
    case "app.bsky.feed.repost":
      return self(e.subject);
    case "app.bsky.feed.post":
      return self(e.parent) + self(e.quote) + (e.mentions ?? []).filter((m) => m !== e.did).length;
    default:
      return 0;
  }
}

await using server = await startRedisServer();
const redis = await connectRedis(server.url, { name: "bench" });
const now = Date.now();
const start = now - 7 * DAY_MS;
say(
  `Workload: ${fmt(EVENTS)} events, ${fmt(ACCOUNTS)} accounts, Zipf popularity, spread over 7 days`,
);

const memEmpty = await usedMemory(redis);
// 1. Fill the streams as the firehose would (not timed).
const publisher = new Publisher(redis, {
  partitions: PARTITIONS,
  maxLen: EVENTS * 2,
  source: "relay",
});
const mix: Record<string, number> = {};
let total = 0, cursor: number | undefined, batch: FirehoseEvent[] = [];
const flush = async () => {
  if (batch.length === 0) return;
  const to = batch[batch.length - 1].seq;
  await publisher.publish(chunksOf(batch, PARTITIONS), cursor, to);
  cursor = to;
  batch = [];
};
for (
  const e of generateEvents({
    accounts: ACCOUNTS,
    events: EVENTS,
    seed: 42,
    start,
    spanMs: 7 * DAY_MS,
  })
) {
  const label = e.kind === "commit" ? `${e.collection.split(".").pop()} ${e.action}` : e.kind;
  mix[label] = (mix[label] ?? 0) + 1;
  total += interactions(e);
  batch.push(e);
  if (batch.length >= 2000) await flush();
}
await flush();
// The generator is checked against the real PDS capture: the same mix of operations.
const captureMix: Record<string, number> = {};
{
  const { readCaptureFile } = await import("@bsky/firehose/capture");
  const { normalizeFrame } = await import("@bsky/firehose/relay");
  const frames = await readCaptureFile(
    new URL("../../firehose/bench/pds_capture.bin.gz", import.meta.url),
  );
  const out: FirehoseEvent[] = [];
  for (const f of frames) {
    normalizeFrame(f, out, { drop() {}, ignore() {} }, { maxRecordBytes: 65536, maxMentions: 50 });
  }
  for (const e of out) {
    const label = e.kind === "commit" ? `${e.collection.split(".").pop()} ${e.action}` : e.kind;
    captureMix[label] = (captureMix[label] ?? 0) + 1 / out.length;
  }
}
say(`Mix (generator vs real PDS capture): ${
  Object.entries(mix).sort((a, b) => b[1] - a[1])
    .map(([k, v]) =>
      `${k} ${(100 * v / EVENTS).toFixed(1)}%/${(100 * (captureMix[k] ?? 0)).toFixed(1)}%`
    )
    .join(", ")
}`);
say(`Interactions in the stream: ${fmt(total)}`);

// 2. The indexer drains them (timed).
await redis.config("RESETSTAT");
const cpuOf = async () => {
  const c = await info(redis, "cpu");
  return (Number(c.used_cpu_user) + Number(c.used_cpu_sys)) * 1000;
};
const redisCpu0 = await cpuOf();
const ownCpu0 = process.cpuUsage();
const env: Record<string, string> = {
  REDIS_URL: server.url,
  INDEXER_METRICS_PORT: "0",
  FIREHOSE_PARTITIONS: String(PARTITIONS),
  INDEXER_BATCH_SIZE: "2000",
};
const quiet = createLogger("bench", { level: "error", write: () => {} });
const t0 = performance.now();
const indexer = await startIndexer(loadIndexerConfig((n) => env[n]), quiet);
await drained(redis, PARTITIONS);
const seconds = (performance.now() - t0) / 1000;
const redisCpuMs = await cpuOf() - redisCpu0;
const own = process.cpuUsage(ownCpu0);
const ownCpuMs = (own.user + own.system) / 1000;
await indexer.stop();
const calls = await commandCalls(redis);
const clientCalls = (calls.evalsha ?? 0) + (calls.eval ?? 0) + (calls.xreadgroup ?? 0) +
  (calls.xautoclaim ?? 0) + (calls.xinfo ?? 0);
const allCalls = Object.values(calls).reduce((a, b) => a + b, 0);
// The streams are the firehose's buffer, not the store: trim them before measuring.
for (let p = 0; p < PARTITIONS; p++) await redis.xtrim(firehoseKeys.stream(p), "MAXLEN", 0);
const memAppended = await usedMemory(redis) - memEmpty;
// In steady state the scheduler's roll-up compacts the logs; do it here.
for (let w = Math.floor(start / (7 * DAY_MS)); w <= Math.floor(now / (7 * DAY_MS)); w++) {
  await compactWeek(redis, w, now);
}
const memAfter = await usedMemory(redis);
const storeBytes = memAfter - memEmpty;
// Where the memory is, by key prefix (MEMORY USAGE of every key).
const byPrefix: Record<string, [number, number]> = {};
{
  let cur = "0";
  do {
    const [next, keys] = await redis.scan(cur, "COUNT", 2000);
    cur = next;
    const pipe = redis.pipeline();
    for (const k of keys) pipe.memory("USAGE", k, "SAMPLES", "0");
    const res = (await pipe.exec())!;
    keys.forEach((k, i) => {
      const prefix = k.slice(0, k.indexOf(":"));
      const row = byPrefix[prefix] ??= [0, 0];
      row[0]++;
      row[1] += Number(res[i][1] ?? 0);
    });
  } while (cur !== "0");
}

// 3. Queries: the busiest account, and the first one (by popularity) under 20k interactions.
async function receivedCount(did: string): Promise<number> {
  const t = await totals(redis, did, 24 * 7, now);
  return t ? Object.values(t.received).reduce((a, b) => a + b, 0) : 0;
}
async function latency(did: string): Promise<{ p50: number; p99: number; interactions: number }> {
  const latencies: number[] = [];
  for (let i = 0; i < 200; i++) {
    const q0 = performance.now();
    await topInteractions(redis, did, {
      direction: i % 2 ? "received" : "both",
      windowHours: 24 * 7,
      limit: 30,
      now,
    });
    latencies.push(performance.now() - q0);
  }
  latencies.sort((a, b) => a - b);
  const pct = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))];
  return { p50: pct(0.5), p99: pct(0.99), interactions: await receivedCount(did) };
}
let rank = 0;
while (rank < ACCOUNTS - 1 && await receivedCount(didOf(rank)) >= 20_000) rank++;
const busiest = await latency(didOf(0));
const typical = await latency(didOf(rank));

// 4. One key per interaction holding JSON, for comparison (100k of them).
const memJson0 = await usedMemory(redis);
const N = 100_000;
for (let i = 0; i < N; i += 1000) {
  const pipe = redis.pipeline();
  for (let k = i; k < i + 1000; k++) {
    pipe.set(
      `interaction:${crypto.randomUUID()}`,
      JSON.stringify({
        author: didOf(k % ACCOUNTS),
        subject: didOf((k * 7) % ACCOUNTS),
        type: "like",
        uri: `at://${didOf(k % ACCOUNTS)}/app.bsky.feed.like/3k${k.toString(32).padStart(11, "2")}`,
        time: new Date(now).toISOString(),
      }),
      "EX",
      7 * 86400,
    );
  }
  await pipe.exec();
}
const jsonPer = (await usedMemory(redis) - memJson0) / N;

// 5. redis-benchmark's pipelined ceiling on the same server.
const rb = await new Deno.Command("redis-benchmark", {
  args: ["-p", String(server.port), "-n", "500000", "-P", "64", "-q", "-t", "hset,set"],
  stdout: "piped",
  stderr: "null",
}).output().catch(() => undefined);
const ceiling = rb
  ? new TextDecoder().decode(rb.stdout).split(/\r|\n/).filter((l) =>
    l.includes("requests per second")
  ).map((l) => l.trim()).join("; ")
  : "redis-benchmark not installed";

// 6. The apply call that opens a span of the record memory whose span before held what a
// span of the whole network holds (about 6.5 million records in 8 hours, bench:network at
// a tenth), against one that writes into a span already open: Redis's own time for the call.
const SPAN_RECORDS = 6_500_000;
const applier = new Applier(redis, { retentionDays: 7, memoryHours: 48 });
const futureSpan = Math.floor(now / HOUR_MS / 8) + 2;
await redis.hset(storeKeys.recordBuckets, `n${futureSpan - 1}`, SPAN_RECORDS);
const slowest = async (events: FirehoseEvent[]) =>
  (await scriptTime(redis, () => applier.apply(events))).longestMs;
const spanLike = (n: number): FirehoseEvent => ({
  v: 1,
  kind: "commit",
  seq: n,
  time: (futureSpan * 8 + 1) * HOUR_MS,
  did: didOf(n),
  action: "create",
  collection: "app.bsky.feed.like",
  rkey: `3kspan${String(n).padStart(7, "a")}`,
  subject: didOf(n + 1),
});
await applier.ids([1, 2, 3, 4].map(didOf)); // interned before: one call each below
const openingMs = await slowest([spanLike(1)]);
const openBuckets = Number(await redis.hget(storeKeys.recordBuckets, String(futureSpan)));
const openMs = await slowest([spanLike(3)]);

say("");
say(
  `interactions/s applied (one indexer process): ${fmt(total / seconds)}  (${
    fmt(EVENTS / seconds)
  } events/s, ${seconds.toFixed(2)} s)`,
);
say(
  `CPU: indexer ${fmt(ownCpuMs)} ms (${(ownCpuMs / 10 / seconds).toFixed(0)}% of a core), ` +
    `redis-server ${fmt(redisCpuMs)} ms (${(redisCpuMs / 10 / seconds).toFixed(0)}%)`,
);
say(
  `Redis commands per event: ${(clientCalls / EVENTS).toFixed(3)} from the client, ${
    (allCalls / EVENTS).toFixed(2)
  } counting those run inside the Lua script (${
    Object.entries(calls).filter(([, n]) => n >= EVENTS / 100).sort((a, b) => b[1] - a[1])
      .map(([c, n]) => `${c} ${(n / EVENTS).toFixed(2)}`).join(", ")
  })`,
);
say(
  `Redis memory of the store: ${fmt(storeBytes)} B = ${
    (storeBytes / total).toFixed(1)
  } B per stored interaction (7-day window, ${fmt(total)} interactions)`,
);
say(
  `  before the roll-up: ${(memAppended / total).toFixed(1)} B per interaction`,
);
say(
  `  by key prefix: ${
    Object.entries(byPrefix).sort((a, b) => b[1][1] - a[1][1])
      .map(([p, [n, b]]) => `${p} ${fmt(n)} keys ${(b / total).toFixed(1)} B`).join(", ")
  }`,
);
say(`One key per interaction holding JSON: ${jsonPer.toFixed(0)} B per interaction`);
for (const [label, q] of [["the busiest account", busiest], ["an account", typical]] as const) {
  say(
    `topInteractions of ${label} (${fmt(q.interactions)} interactions received in 7 days): ` +
      `p50 ${q.p50.toFixed(2)} ms, p99 ${q.p99.toFixed(2)} ms`,
  );
}
say(`redis-benchmark -P 64 on the same server: ${ceiling}`);
say(
  `Opening a span of the record memory (${fmt(openBuckets)} buckets, as on the whole network): ` +
    `${openingMs.toFixed(2)} ms of Redis for the call; into a span already open: ${
      openMs.toFixed(2)
    } ms`,
);
console.log(JSON.stringify({
  bench: "indexer",
  events: EVENTS,
  accounts: ACCOUNTS,
  interactions: total,
  interactionsPerSecond: Math.round(total / seconds),
  commandsPerEvent: { client: clientCalls / EVENTS, all: allCalls / EVENTS },
  bytesPerInteraction: storeBytes / total,
  jsonBytesPerInteraction: jsonPer,
  topInteractionsMs: { busiest, typical },
  spanOpening: { buckets: openBuckets, callMs: openingMs, openSpanCallMs: openMs },
}));
redis.disconnect();
