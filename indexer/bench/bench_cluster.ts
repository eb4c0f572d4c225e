/**
 * `deno task bench:indexer --cluster`: the indexer on a Redis Cluster against one server, in
 * the same run. The same stream of events (heavy-tailed popularity, the last hour) is
 * published to the partitions, then drained by indexer processes (each started as `deno task
 * start` starts it), timed from their start to the last entry acknowledged:
 *
 * - one redis-server, one indexer (the one-call apply): the baseline;
 * - a cluster of 3 masters and 3 replicas, one indexer, without WAIT, then with WAIT for
 *   one replica (the default);
 * - the same cluster, two indexers sharing the partitions, with WAIT.
 *
 * Prints interactions/s, Redis commands per event, CPU per interaction of the indexers and
 * of each master, and the ratios to the baseline; ends with one JSON line.
 *
 *   deno run -A indexer/bench/bench_indexer.ts --cluster [--events 200000]
 *     [--accounts 20000] [--partitions 4]
 */
import { parseArgs } from "node:util";
import type { FirehoseEvent } from "@bsky/shared/events";
import { connectRedis, type Redis, type RedisClient } from "@bsky/shared/redis";
import { drained } from "./drained.ts";
import { startRedisCluster } from "@bsky/shared/testing/redis_cluster";
import { startRedisServer } from "@bsky/shared/testing/redis_server";
import { chunksOf, Publisher } from "@bsky/firehose/publisher";
import { processCpuMs } from "@bsky/firehose/bench/cpu";
import { HOUR_MS } from "@bsky/store/layout";
import { generateEvents } from "@bsky/store/testing/generate";
import { redisCpuMs } from "@bsky/store/bench/probe";
import { spawnService } from "../../scripts/testing/platform.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    cluster: { type: "boolean", default: false },
    events: { type: "string", default: "200000" },
    accounts: { type: "string", default: "20000" },
    partitions: { type: "string", default: "4" },
  },
});
const EVENTS = Number(values.events), ACCOUNTS = Number(values.accounts);
const PARTITIONS = Number(values.partitions);
for (const [name, n] of [["events", EVENTS], ["accounts", ACCOUNTS], ["partitions", PARTITIONS]]) {
  if (!Number.isSafeInteger(n) || (n as number) < 1) {
    console.error(`Invalid --${name}: not a positive integer`);
    Deno.exit(2);
  }
}
const say = (s: string) => console.log(s);
const fmt = (n: number, d = 0) =>
  n.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });

// The events, made once: the last hour, so that nothing expires before it is counted.
const now = Date.now();
const events: FirehoseEvent[] = [
  ...generateEvents({
    accounts: ACCOUNTS,
    events: EVENTS,
    seed: 42,
    start: now - HOUR_MS,
    spanMs: HOUR_MS,
  }),
];
let interactions = 0;
for (const e of events) {
  if (e.kind !== "commit" || e.action !== "create") continue;
  const other = (d?: string) => d !== undefined && d !== e.did ? 1 : 0;
  interactions += other(e.subject) + other(e.parent) + other(e.quote) +
    (e.mentions ?? []).filter((m) => m !== e.did).length;
}

/** Commands served so far, all of them, by one node. */
async function commands(node: Redis): Promise<number> {
  const text = await node.info("commandstats");
  let n = 0;
  for (const m of text.matchAll(/calls=(\d+)/g)) n += Number(m[1]);
  return n;
}

interface Run {
  name: string;
  seconds: number;
  interactionsPerSecond: number;
  commandsPerEvent: number;
  indexerCpuUsPerInteraction: number;
  /** Per master (one on a single server): its main thread's CPU per interaction. */
  redisCpuUsPerInteraction: number[];
}

/** Publishes the events, starts `indexers` indexer processes, waits until all is acknowledged. */
async function run(
  name: string,
  redis: RedisClient,
  masters: Redis[],
  env: Record<string, string>,
  indexers: number,
): Promise<Run> {
  const publisher = new Publisher(redis, {
    partitions: PARTITIONS,
    maxLen: EVENTS * 2,
    source: "relay",
  });
  let cursor: number | undefined;
  for (let k = 0; k < events.length; k += 2000) {
    const batch = events.slice(k, k + 2000);
    const to = batch[batch.length - 1].seq;
    await publisher.publish(chunksOf(batch, PARTITIONS), cursor, to);
    cursor = to;
  }
  const before = await Promise.all(
    masters.map(async (m) => [await commands(m), await redisCpuMs(m)]),
  );
  const t0 = performance.now();
  const children = [];
  for (let k = 0; k < indexers; k++) {
    children.push(
      await spawnService("indexer", {
        ...env,
        FIREHOSE_PARTITIONS: String(PARTITIONS),
        INDEXER_BATCH_SIZE: "1000",
        LOG_LEVEL: "error",
      }),
    );
  }
  await drained(redis, PARTITIONS);
  const seconds = (performance.now() - t0) / 1000;
  let indexerCpu = 0;
  for (const child of children) {
    indexerCpu += await processCpuMs(child.pid);
    child.kill("SIGTERM");
    await child.status;
  }
  const after = await Promise.all(
    masters.map(async (m) => [await commands(m), await redisCpuMs(m)]),
  );
  const served = after.reduce((n, [c], k) => n + c - before[k][0], 0);
  const result: Run = {
    name,
    seconds: Number(seconds.toFixed(2)),
    interactionsPerSecond: Math.round(interactions / seconds),
    commandsPerEvent: Number((served / EVENTS).toFixed(2)),
    indexerCpuUsPerInteraction: Number((indexerCpu * 1000 / interactions).toFixed(2)),
    redisCpuUsPerInteraction: after.map(([, cpu], k) =>
      Number(((cpu - before[k][1]) * 1000 / interactions).toFixed(2))
    ),
  };
  say(
    `${name.padEnd(40)} ${fmt(result.interactionsPerSecond).padStart(9)}/s  ${
      fmt(result.commandsPerEvent, 2).padStart(6)
    } cmd/event  indexers ${fmt(result.indexerCpuUsPerInteraction, 1)} µs/int  Redis ${
      result.redisCpuUsPerInteraction.map((c) => fmt(c, 1)).join(" + ")
    } µs/int`,
  );
  return result;
}

say(
  `Workload: ${fmt(EVENTS)} events (${fmt(interactions)} interactions), ${
    fmt(ACCOUNTS)
  } accounts, ${PARTITIONS} partitions`,
);
const runs: Run[] = [];
{
  await using server = await startRedisServer();
  const redis = await connectRedis(server.url, { name: "bench" });
  runs.push(await run("one server, 1 indexer", redis, [redis], { REDIS_URL: server.url }, 1));
  redis.disconnect();
}
{
  await using cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
  const redis = await cluster.connect() as unknown as RedisClient;
  const masters = (redis as unknown as { nodes(role: string): Redis[] }).nodes("master");
  const env = { REDIS_CLUSTER_NODES: cluster.nodes };
  const fresh = async () => {
    for (const m of masters) await m.flushall();
  };
  for (
    const [name, wait, n] of [
      ["cluster 3×2, 1 indexer, no WAIT", "0", 1],
      ["cluster 3×2, 1 indexer, WAIT 1", "1", 1],
      ["cluster 3×2, 2 indexers, WAIT 1", "1", 2],
    ] as const
  ) {
    await fresh();
    runs.push(await run(name, redis, masters, { ...env, INDEXER_WAIT_REPLICAS: wait }, n));
  }
  redis.disconnect();
}
const base = runs[0].interactionsPerSecond;
say("");
for (const r of runs.slice(1)) {
  say(`${r.name}: ${(r.interactionsPerSecond / base).toFixed(2)}× one server`);
}
console.log(JSON.stringify({
  bench: "indexer-cluster",
  events: EVENTS,
  interactions,
  accounts: ACCOUNTS,
  partitions: PARTITIONS,
  runs,
  ratios: Object.fromEntries(
    runs.slice(1).map((r) => [r.name, Number((r.interactionsPerSecond / base).toFixed(2))]),
  ),
}));
