/**
 * What WAIT costs the firehose on a Redis Cluster: the full service over the replayed
 * capture into a local cluster of 3 masters and 3 replicas (AOF everysec), each write
 * followed by WAIT 1 (FIREHOSE_WAIT_REPLICAS=1, the default there) or not (0), and into
 * one redis-server (AOF everysec) for reference; the same partitions everywhere. Runs
 * are interleaved and the median is reported. Then the publisher alone, one batch of 1,000
 * events at a time (no pipelining), with and without WAIT: what WAIT adds to a batch.
 *
 *   deno run -A firehose/bench/bench_cluster.ts [--events 100000] [--repeat 3]
 *     [--partitions 4] [--capture FILE]
 */
import { parseArgs } from "node:util";
import { connectRedis } from "@bsky/shared/redis";
import type { FirehoseEvent } from "@bsky/shared/events";
import { startRedisCluster } from "@bsky/shared/testing/redis_cluster";
import { startRedisServer } from "@bsky/shared/testing/redis_server";
import { readCaptureFile } from "../capture.ts";
import { memoryLogger, testConfig } from "../testing/helpers.ts";
import { startFirehose } from "../service.ts";
import { chunksOf, Publisher } from "../publisher.ts";
import { startReplayProcess } from "./replay_process.ts";
import { defaultCapture, planWorkload } from "./workload.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    events: { type: "string", default: "100000" },
    repeat: { type: "string", default: "3" },
    partitions: { type: "string", default: "4" },
    capture: { type: "string" },
  },
});
const capture = await defaultCapture(values.capture);
const frames = await readCaptureFile(capture);
const workload = planWorkload(frames, Number(values.events));
const repeat = Number(values.repeat);

interface Mode {
  name: string;
  vars: Record<string, string>;
}

await using cluster = await startRedisCluster();
await using single = await startRedisServer({ appendOnly: true });
const modes: Mode[] = [
  { name: "one redis-server", vars: { REDIS_URL: single.url } },
  {
    name: "cluster, FIREHOSE_WAIT_REPLICAS=0",
    vars: { REDIS_CLUSTER_NODES: cluster.nodes, FIREHOSE_WAIT_REPLICAS: "0" },
  },
  {
    name: "cluster, FIREHOSE_WAIT_REPLICAS=1",
    vars: { REDIS_CLUSTER_NODES: cluster.nodes, FIREHOSE_WAIT_REPLICAS: "1" },
  },
];

/** Empties every master (and so its replica) and the single server. */
async function empty() {
  for (const n of await cluster.topology()) {
    if (n.role === "master" && !n.failed) await cluster.cli(n.port, "FLUSHALL");
  }
  await new Deno.Command("redis-cli", { args: ["-u", single.url, "FLUSHALL"], stdout: "null" })
    .output();
}

async function run(mode: Mode) {
  await empty();
  await using replay = await startReplayProcess(capture, workload.loops, 1024);
  const log = memoryLogger();
  const t0 = performance.now();
  const service = await startFirehose(
    testConfig({
      FIREHOSE_URL: replay.url,
      FIREHOSE_METRICS_PORT: "0",
      FIREHOSE_PARTITIONS: values.partitions,
      ...mode.vars,
    }),
    log,
  );
  try {
    while (service.subscription.cursor !== workload.lastSeq) {
      await new Promise((r) => setTimeout(r, 2));
      if (performance.now() - t0 > 600_000) throw new Error(`${mode.name}: timed out`);
    }
    const seconds = (performance.now() - t0) / 1000;
    const text = await service.metrics.registry.render();
    const metric = (name: string) =>
      Number(text.split("\n").find((l) => l.startsWith(name + " "))?.split(" ").pop() ?? 0);
    return {
      eventsPerSecond: Math.round(workload.events / seconds),
      batches: metric("firehose_batch_seconds_count"),
      batchMs: metric("firehose_batch_seconds_sum") / metric("firehose_batch_seconds_count") *
        1000,
      shortfalls: metric("firehose_wait_shortfalls_total"),
    };
  } finally {
    await service.stop();
  }
}

console.log(
  `${workload.events} events (${frames.length} frames × ${workload.loops}), ` +
    `${values.partitions} partitions, ${repeat} runs each`,
);
const results = new Map<string, Awaited<ReturnType<typeof run>>[]>();
for (let r = 1; r <= repeat; r++) {
  for (const mode of modes) {
    const result = await run(mode);
    console.log(`  ${mode.name} (${r}/${repeat}): ${JSON.stringify(result)}`);
    results.set(mode.name, [...results.get(mode.name) ?? [], result]);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log("\n| Redis | events/s (median) | mean batch write, ms | WAIT shortfalls |");
console.log("| --- | --- | --- | --- |");
for (const mode of modes) {
  const rs = results.get(mode.name)!;
  console.log(
    `| ${mode.name} | ${median(rs.map((x) => x.eventsPerSecond))} | ${
      median(rs.map((x) => x.batchMs)).toFixed(2)
    } | ${rs.map((x) => x.shortfalls).join(", ")} |`,
  );
}

/** The publisher alone: `batches` sequential batches of 1,000 likes; ms per batch. */
async function publisherOnly(waitReplicas: number, batches = 200) {
  await empty();
  const nodes = cluster.nodes.split(",");
  const redis = await connectRedis({ REDIS_URL: single.url, REDIS_CLUSTER_NODES: nodes }, {
    name: "bench",
  });
  try {
    const partitions = Number(values.partitions);
    const publisher = new Publisher(redis, {
      partitions,
      maxLen: 2_000_000,
      source: "relay",
      waitReplicas,
    });
    const like = (seq: number): FirehoseEvent => ({
      v: 1,
      kind: "commit",
      seq,
      time: 1_700_000_000_000 + seq,
      did: `did:plc:${String(seq % 5000).padStart(24, "a")}`,
      action: "create",
      collection: "app.bsky.feed.like",
      rkey: `3k${seq}`,
      subject: "did:plc:subject",
    });
    const times: number[] = [];
    let from: number | undefined;
    for (let b = 0; b < batches; b++) {
      const chunks = chunksOf(
        Array.from({ length: 1000 }, (_, k) => like(b * 1000 + k + 1)),
        partitions,
      );
      const t = performance.now();
      const result = await publisher.publish(chunks, from, (b + 1) * 1000);
      times.push(performance.now() - t);
      if (result.status !== "applied") throw new Error(`publisher: ${result.status}`);
      from = (b + 1) * 1000;
    }
    times.sort((a, b) => a - b);
    return {
      p50: times[Math.floor(times.length / 2)],
      p99: times[Math.floor(times.length * 0.99)],
    };
  } finally {
    redis.disconnect();
  }
}

const alone: Record<number, { p50: number; p99: number }[]> = { 0: [], 1: [] };
for (let r = 1; r <= repeat; r++) {
  for (const w of [0, 1]) alone[w].push(await publisherOnly(w));
}
console.log("\n| publisher alone, 1,000 events a batch | p50 ms (median of runs) | p99 ms |");
console.log("| --- | --- | --- |");
for (const w of [0, 1]) {
  console.log(
    `| FIREHOSE_WAIT_REPLICAS=${w} | ${median(alone[w].map((x) => x.p50)).toFixed(2)} | ${
      median(alone[w].map((x) => x.p99)).toFixed(2)
    } |`,
  );
}
