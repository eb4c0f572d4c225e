/**
 * Firehose throughput, five ways over the same capture: the decode-only ceiling, a raw
 * Deno WebSocket that decodes, the same decoding on the service's own socket (socket.ts),
 * npm:@atproto/sync's Firehose, and the full service writing to a real redis-server. Each consumer runs in its own process against its own replay server
 * process, and prints one table and one JSON summary line.
 *
 *   deno run -A firehose/bench/bench_firehose.ts [--capture FILE] [--events 200000]
 *     [--only transport,decode,raw,socket,sync,service] [--timeout 600] [--replay-chunk 1024]
 *     [--repeat 3]
 *
 * The capture defaults to firehose/bench/pds_capture.bin.gz when recorded, else the relay
 * corpus in testdata/. Row 0 (a WebSocket that only counts) is a reference: what the
 * replay server and the socket can carry. The replay server sends 1024 frames per
 * event-loop turn.
 *
 * An event is, per frame, each op of a #commit and 1 for an #identity or #account; the
 * capture is looped until the workload holds at least --events of them.
 */
import { parseArgs } from "node:util";
import { connectRedis } from "@bsky/shared/redis";
import { type RedisServer, startRedisServer } from "@bsky/shared/testing/redis_server";
import { readCaptureFile } from "../capture.ts";
import {
  type ConsumerName,
  type ConsumerResult,
  CONSUMERS,
  runAtprotoSync,
  runDecodeOnly,
  runRawWebSocket,
  runService,
  runSocket,
} from "./consumers.ts";
import { type ReplayProcess, startReplayProcess } from "./replay_process.ts";
import { formatReport, type Measured, summary } from "./report.ts";
import { BASE_SEQ, defaultCapture, planWorkload } from "./workload.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    capture: { type: "string" },
    events: { type: "string", default: "200000" },
    /** Seconds each consumer may take. */
    timeout: { type: "string", default: "600" },
    /** Runs of each consumer; the median by events/s is reported (this box is noisy). */
    repeat: { type: "string", default: "3" },
    /** Comma-separated subset of transport,decode,raw,socket,sync,service. */
    only: { type: "string" },
    /** Frames the replay server sends per event-loop turn. */
    "replay-chunk": { type: "string", default: "1024" },
    // Internal: run one consumer in this process and print its result as JSON.
    consumer: { type: "string" },
    url: { type: "string" },
    redis: { type: "string" },
  },
});

function positive(name: string, raw: string): number {
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n <= 0) {
    console.error(`Invalid --${name}: "${raw}" is not a positive integer`);
    Deno.exit(2);
  }
  return n;
}

const minEvents = positive("events", values.events);
const timeoutMs = positive("timeout", values.timeout) * 1000;
const replayChunk = positive("replay-chunk", values["replay-chunk"]);
const capture = await defaultCapture(values.capture);
const frames = await readCaptureFile(capture);
const workload = planWorkload(frames, minEvents);

if (values.consumer) {
  // Child mode: one consumer, result on the last stdout line.
  const options = { frames, workload, url: values.url, redisUrl: values.redis, timeoutMs };
  const run: Record<ConsumerName, () => ConsumerResult | Promise<ConsumerResult>> = {
    transport: () => runRawWebSocket(options, false),
    decode: () => runDecodeOnly(options),
    raw: () => runRawWebSocket(options),
    socket: () => runSocket(options),
    sync: () => runAtprotoSync(options),
    service: () => runService(options),
  };
  const result = await run[values.consumer as ConsumerName]();
  console.log(JSON.stringify(result));
  Deno.exit(0);
}

const wanted = (values.only?.split(",") ?? [...CONSUMERS]) as ConsumerName[];
for (const c of wanted) {
  if (!CONSUMERS.includes(c)) {
    console.error(`Invalid --only: "${c}" is not one of ${CONSUMERS.join(", ")}`);
    Deno.exit(2);
  }
}

// Everything started here is stopped on the way out, whatever the way out is. On a signal
// the processes being started or running are killed at once (shutdown), the run unwinds
// through its finally blocks, and a failsafe exits if that takes too long.
const cleanups = new Set<() => Promise<void>>();
async function cleanUp(): Promise<void> {
  for (const c of [...cleanups].reverse()) await c().catch(() => {});
  cleanups.clear();
}
const shutdown = new AbortController();
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => {
    if (shutdown.signal.aborted) return;
    console.error(`${signal}: stopping`);
    shutdown.abort();
    setTimeout(() => cleanUp().finally(() => Deno.exit(130)), 10_000);
  });
}

async function runChild(
  consumer: ConsumerName,
  extra: string[],
): Promise<ConsumerResult> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL(import.meta.url).pathname,
      "--consumer",
      consumer,
      "--capture",
      capture,
      "--events",
      String(minEvents),
      "--timeout",
      String(timeoutMs / 1000),
      ...extra,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const kill = async () => {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
    await child.status;
  };
  cleanups.add(kill);
  shutdown.signal.addEventListener("abort", kill);
  // The child has its own deadline; this one only catches a child that hangs past it.
  const timer = setTimeout(() => kill(), timeoutMs + 60_000);
  try {
    const out = await child.output();
    const text = new TextDecoder().decode(out.stdout).trim();
    if (!out.success) throw new Error(`The ${consumer} run failed (exit code ${out.code})`);
    return JSON.parse(text.split("\n").pop()!);
  } finally {
    clearTimeout(timer);
    cleanups.delete(kill);
    shutdown.signal.removeEventListener("abort", kill);
  }
}

async function redisFacts(server: RedisServer) {
  const redis = await connectRedis(server.url, { name: "bench" });
  try {
    const info = (section: string) =>
      redis.info(section).then((text) =>
        Object.fromEntries(
          text.split("\r\n").filter((l) => l.includes(":")).map((l) => l.split(":", 2)),
        ) as Record<string, string>
      );
    const mem = await info("memory");
    const cpu = await info("cpu");
    const streams: Record<string, number> = {};
    for (const key of (await redis.keys("*")).sort()) {
      if (await redis.type(key) === "stream") streams[key] = await redis.xlen(key);
    }
    return {
      usedMemory: Number(mem.used_memory),
      usedMemoryHuman: mem.used_memory_human,
      cpuMs: (Number(cpu.used_cpu_user) + Number(cpu.used_cpu_sys)) * 1000,
      streams,
    };
  } finally {
    redis.disconnect();
  }
}

async function measure(consumer: ConsumerName): Promise<Measured> {
  let replay: ReplayProcess | undefined;
  let redis: RedisServer | undefined;
  try {
    const extra: string[] = [];
    if (consumer !== "decode") {
      replay = await startReplayProcess(capture, workload.loops, replayChunk, shutdown.signal);
      cleanups.add(replay.stop);
      extra.push("--url", replay.url);
    }
    if (consumer === "service") {
      redis = await startRedisServer();
      cleanups.add(redis.stop);
      shutdown.signal.throwIfAborted();
      extra.push("--redis", redis.url);
    }
    const replayCpu0 = await replay?.cpuMs() ?? 0;
    const redisCpu0 = redis ? (await redisFacts(redis)).cpuMs : 0;
    const result = await runChild(consumer, extra);
    const measured: Measured = { result };
    if (replay) measured.replayCpuMs = await replay.cpuMs() - replayCpu0;
    if (redis) {
      const facts = await redisFacts(redis);
      measured.redis = { ...facts, cpuMs: facts.cpuMs - redisCpu0 };
    }
    return measured;
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  } finally {
    if (replay) {
      await replay.stop();
      cleanups.delete(replay.stop);
    }
    if (redis) {
      await redis.stop();
      cleanups.delete(redis.stop);
    }
  }
}

try {
  const runs: Partial<Record<ConsumerName, Measured>> = {};
  console.error(
    `Capture ${capture}: ${frames.length} frames, ${workload.eventsPerLoop} events per pass; ` +
      `${workload.loops} passes = ${workload.events} events (seq ${
        BASE_SEQ + 1
      }..${workload.lastSeq})`,
  );
  console.error(`Replay server: ${replayChunk} frames per event-loop turn`);
  const repeat = positive("repeat", values.repeat!);
  const rateOf = (m: Measured) => m.result ? m.result.events / (m.result.elapsedMs / 1000) : -1;
  // Interleave the consumers so that a slow spell of the machine hits them alike.
  const all: Partial<Record<ConsumerName, Measured[]>> = {};
  for (let round = 1; round <= repeat; round++) {
    for (const consumer of wanted) {
      if (shutdown.signal.aborted) break;
      console.error(`Running ${consumer} (${round}/${repeat})…`);
      const m = await measure(consumer);
      (all[consumer] ??= []).push(m);
      console.error(`  ${consumer} (${round}/${repeat}): ${Math.round(rateOf(m))} events/s`);
    }
  }
  // The service against the raw consumer of the same round: one ratio per round.
  if (all.service && all.raw) {
    const ratios = all.service.map((m, k) => rateOf(m) / rateOf(all.raw![k]))
      .filter((r) => r > 0);
    const sorted = [...ratios].sort((a, b) => a - b);
    console.error(
      `service / raw by round: ${ratios.map((r) => r.toFixed(3)).join(", ")}; median ${
        sorted[Math.floor(sorted.length / 2)]?.toFixed(3)
      }`,
    );
  }
  for (const consumer of wanted) {
    const list = (all[consumer] ?? []).sort((a, b) => rateOf(a) - rateOf(b));
    if (list.length === 0) continue;
    runs[consumer] = list[Math.floor(list.length / 2)];
    console.error(
      `${consumer}: ${
        list.map((m) => Math.round(rateOf(m))).join(", ")
      } events/s (median reported)`,
    );
  }
  if (!shutdown.signal.aborted) {
    console.log(formatReport(capture, frames.length, workload, runs, replayChunk));
    console.log(JSON.stringify(summary(capture, workload, runs, replayChunk)));
  }
} finally {
  await cleanUp();
}
Deno.exit(shutdown.signal.aborted ? 130 : 0);
