/**
 * What writes by slot (slot_writes.ts) cost: batches of 1,000 likes (each an append to the
 * liker's log and one to the liked account's, 5 bytes each; likers drawn evenly, liked
 * accounts heavy-tailed, from 100,000 accounts) written one batch at a time, as an applier
 * does, into a local Redis Cluster of 3 masters and 3 replicas (without WAIT, and with each
 * call followed by WAIT 1) and into one redis-server; beside them, on that one server, the
 * same appends as a plain pipeline (no watermark, not exactly once): the floor. Runs are
 * interleaved; medians are reported. Prints entries/s, calls per entry, slots per batch,
 * Redis CPU per entry (every master's main thread, INFO cpu) and batch times, then one JSON
 * line.
 *
 *   deno run -A store/bench/bench_slot_writes.ts [--entries 100000] [--repeat 3]
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { parseArgs } from "node:util";
import { connectRedis, isCluster, type Redis, type RedisClient } from "@bsky/shared/redis";
import { startRedisCluster } from "@bsky/shared/testing/redis_cluster";
import { startRedisServer } from "@bsky/shared/testing/redis_server";
import { seededRandom } from "@bsky/shared/testing/seeded_random";
import { storeKeys } from "../keys.ts";
import { type EntryWrites, writeBySlot } from "../slot_writes.ts";
import { redisCpuMs } from "./probe.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    entries: { type: "string", default: "100000" },
    repeat: { type: "string", default: "3" },
  },
});
const ENTRIES = Number(values.entries), REPEAT = Number(values.repeat);
const BATCH = 1000, ACCOUNTS = 100_000;
if (!(ENTRIES >= BATCH) || !(REPEAT >= 1)) {
  console.error("--entries must be at least 1,000 and --repeat at least 1");
  Deno.exit(2);
}

/** Seeded, so that every run writes the same batches. */
const random = seededRandom(12345);
const FAR = 4_000_000_000;
const batches: EntryWrites[][] = [];
for (let b = 0; b < ENTRIES / BATCH; b++) {
  const batch: EntryWrites[] = [];
  for (let i = 0; i < BATCH; i++) {
    const liker = 1 + Math.floor(random() * ACCOUNTS);
    // Heavy-tailed: account k is liked about 1/k as often.
    const liked = Math.max(1, Math.floor(ACCOUNTS ** random()));
    const data = new Uint8Array(5);
    new DataView(data.buffer).setUint32(1, liked);
    batch.push({
      id: `${1_700_000_000_000 + b}-${i}`,
      writes: [
        { op: "append", key: storeKeys.log(liker, 1), data, expireAt: FAR },
        { op: "append", key: storeKeys.log(liked, 1), data, expireAt: FAR },
      ],
    });
  }
  batches.push(batch);
}

await using cluster = await startRedisCluster();
await using single = await startRedisServer();
const masterPorts = async () =>
  (await cluster.topology()).filter((n) => n.role === "master").map((n) => n.port);

/** Milliseconds of CPU the masters' (or the one server's) main threads used so far. */
async function cpuMs(servers: readonly Redis[]): Promise<number> {
  let ms = 0;
  for (const server of servers) ms += await redisCpuMs(server);
  return ms;
}

interface Run {
  entriesPerSecond: number;
  callsPerEntry: number;
  /** Slots a batch writes to, on average (0 for the plain pipeline). */
  slotsPerBatch: number;
  redisCpuUsPerEntry: number;
  batchP50Ms: number;
  batchP99Ms: number;
}

type Mode = "cluster, WAIT 1" | "cluster" | "one server" | "one server, plain pipeline";

async function run(mode: Mode): Promise<Run> {
  const onCluster = mode.startsWith("cluster");
  const waitReplicas = mode === "cluster, WAIT 1" ? 1 : 0;
  const ports = onCluster ? await masterPorts() : [single.port];
  // Empty (a master's replica follows it).
  for (const port of ports) await cluster.cli(port, "FLUSHALL");
  const redis =
    (onCluster
      ? await cluster.connect()
      : await connectRedis(single.url, { name: "bench" })) as RedisClient;
  try {
    const times: number[] = [];
    let calls = 0, slots = 0;
    const servers = isCluster(redis) ? redis.nodes("master") : [redis as Redis];
    assert(servers.length === ports.length, "a client of every master");
    const cpuBefore = await cpuMs(servers);
    const t0 = performance.now();
    for (const batch of batches) {
      const t = performance.now();
      if (mode === "one server, plain pipeline") {
        const pipe = redis.pipeline();
        for (const e of batch) {
          for (const w of e.writes) {
            if (w.op === "append") pipe.append(w.key, Buffer.from(w.data as Uint8Array));
          }
        }
        await pipe.exec();
        calls += 1;
      } else {
        const r = await writeBySlot(redis, "0", batch, batch.at(-1)!.id, { waitReplicas });
        calls += r.calls;
        slots += r.slots;
      }
      times.push(performance.now() - t);
    }
    const seconds = (performance.now() - t0) / 1000;
    const cpuUsed = (await cpuMs(servers)) - cpuBefore;
    times.sort((a, b) => a - b);
    return {
      entriesPerSecond: Math.round(ENTRIES / seconds),
      callsPerEntry: calls / ENTRIES,
      slotsPerBatch: slots / batches.length,
      redisCpuUsPerEntry: (cpuUsed * 1e3) / ENTRIES,
      batchP50Ms: times[Math.floor(times.length / 2)],
      batchP99Ms: times[Math.floor(times.length * 0.99)],
    };
  } finally {
    redis.disconnect();
  }
}

const MODES: Mode[] = ["one server, plain pipeline", "one server", "cluster", "cluster, WAIT 1"];
const runs: Record<Mode, Run[]> = {
  "one server, plain pipeline": [],
  "one server": [],
  cluster: [],
  "cluster, WAIT 1": [],
};
for (let r = 1; r <= REPEAT; r++) {
  for (const mode of MODES) {
    const result = await run(mode);
    runs[mode].push(result);
    console.error(`${mode} (${r}/${REPEAT}): ${JSON.stringify(result)}`);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const summary = Object.fromEntries(MODES.map((mode) => [mode, {
  entriesPerSecond: median(runs[mode].map((x) => x.entriesPerSecond)),
  callsPerEntry: median(runs[mode].map((x) => x.callsPerEntry)),
  slotsPerBatch: median(runs[mode].map((x) => x.slotsPerBatch)),
  redisCpuUsPerEntry: median(runs[mode].map((x) => x.redisCpuUsPerEntry)),
  batchP50Ms: median(runs[mode].map((x) => x.batchP50Ms)),
  batchP99Ms: median(runs[mode].map((x) => x.batchP99Ms)),
}])) as Record<Mode, Run>;

console.log(
  `\n${ENTRIES.toLocaleString("en")} likes (2 appends each) in batches of 1,000, ` +
    `one batch at a time, ${REPEAT} interleaved runs, medians; every node shares this ` +
    "machine's cores\n",
);
console.log(
  "| writes | entries/s | calls/entry | slots/batch | Redis CPU µs/entry (all masters) | " +
    "batch p50 ms | p99 ms |",
);
console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
for (const mode of MODES) {
  const s = summary[mode];
  console.log(
    `| ${mode} | ${s.entriesPerSecond.toLocaleString("en")} | ${s.callsPerEntry.toFixed(3)} | ${
      Math.round(s.slotsPerBatch)
    } | ${s.redisCpuUsPerEntry.toFixed(1)} | ${s.batchP50Ms.toFixed(1)} | ${
      s.batchP99Ms.toFixed(1)
    } |`,
  );
}
const floor = summary["one server, plain pipeline"];
console.log(
  `\nwrites by slot ÷ plain pipeline, one server: ${
    (summary["one server"].entriesPerSecond / floor.entriesPerSecond).toFixed(2)
  } of the rate; cluster ÷ one server: ${
    (summary.cluster.entriesPerSecond / summary["one server"].entriesPerSecond).toFixed(2)
  }; cluster with WAIT 1 ÷ without: ${
    (summary["cluster, WAIT 1"].entriesPerSecond / summary.cluster.entriesPerSecond).toFixed(2)
  }`,
);
console.log(
  JSON.stringify({
    bench: "slot_writes",
    entries: ENTRIES,
    batch: BATCH,
    repeat: REPEAT,
    ...summary,
  }),
);
