/** Turns the benchmark's measurements into a table, the target checks and a JSON line. */
import type { ConsumerName, ConsumerResult } from "./consumers.ts";
import type { Workload } from "./workload.ts";

export interface RedisFacts {
  usedMemory: number;
  usedMemoryHuman: string;
  /** redis-server CPU (user + system) during the run. */
  cpuMs: number;
  streams: Record<string, number>;
}

export interface Measured {
  result?: ConsumerResult;
  /** CPU of the replay server process during the run. */
  replayCpuMs?: number;
  redis?: RedisFacts;
  error?: string;
}

type Runs = Partial<Record<ConsumerName, Measured>>;

const LABELS: Record<ConsumerName, string> = {
  transport: "0 WS only, no decode (reference)",
  decode: "1 decode-only ceiling (no I/O)",
  raw: "2 raw Deno WebSocket + decode",
  socket: "3 raw firehose socket + decode",
  sync: "4 @atproto/sync Firehose, counting",
  service: "5 service: socket → normalize → Redis",
};

export const TARGETS = {
  serviceOverSync: 4,
  serviceOverRaw: 0.8,
  serviceEventsPerSecond: 20_000,
};

/** CPU other processes used during the run: the machine's busy time minus ours. */
function othersCpuMs(m: Measured): number | undefined {
  const r = m.result;
  if (!r || !Number.isFinite(r.systemBusyMs)) return undefined;
  const ours = r.cpuMs + (m.replayCpuMs ?? 0) + (m.redis?.cpuMs ?? 0);
  return Math.max(0, r.systemBusyMs - ours);
}

const rate = (m: Measured | undefined) =>
  m?.result ? m.result.events / (m.result.elapsedMs / 1000) : undefined;

const fmt = (n: number | undefined, digits = 0) =>
  n === undefined || !Number.isFinite(n)
    ? "-"
    : n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

const cpuPerEvent = (m: Measured | undefined) =>
  m?.result ? m.result.cpuMs / m.result.events : undefined;

function ratios(runs: Runs) {
  const service = rate(runs.service);
  const sync = rate(runs.sync);
  const raw = rate(runs.raw);
  const socket = rate(runs.socket);
  const transport = rate(runs.transport);
  const cpuService = cpuPerEvent(runs.service);
  const cpuRaw = cpuPerEvent(runs.raw);
  const cpuSocket = cpuPerEvent(runs.socket);
  const cpuSync = cpuPerEvent(runs.sync);
  return {
    serviceOverSync: service && sync ? service / sync : undefined,
    serviceOverRaw: service && raw ? service / raw : undefined,
    /** Against the same decoding on the service's own socket: what normalizing and writing cost. */
    serviceOverSocket: service && socket ? service / socket : undefined,
    serviceEventsPerSecond: service,
    /** Near 1: the raw consumer only went as fast as the replay server and socket. */
    rawOverTransport: raw && transport ? raw / transport : undefined,
    /** CPU per event, which contention and the source's pace do not move much. */
    cpuServiceOverRaw: cpuService && cpuRaw ? cpuService / cpuRaw : undefined,
    cpuServiceOverSocket: cpuService && cpuSocket ? cpuService / cpuSocket : undefined,
    cpuSocketOverRaw: cpuSocket && cpuRaw ? cpuSocket / cpuRaw : undefined,
    cpuSyncOverService: cpuService && cpuSync ? cpuSync / cpuService : undefined,
  };
}

export function formatReport(
  capture: string,
  captureFrames: number,
  workload: Workload,
  runs: Runs,
  replayChunk: number | undefined,
): string {
  const lines: string[] = [];
  const types = Object.entries(workload.types).map(([t, n]) => `${t} ${n}`).join(", ");
  lines.push(
    "",
    `Capture:  ${capture}`,
    `          ${captureFrames} frames (${types}), ${workload.eventsPerLoop} events per pass`,
    `Workload: ${workload.loops} passes = ${fmt(workload.frames)} frames = ` +
      `${fmt(workload.events)} events`,
    "Event:    per frame, each op of a #commit, 1 per #identity/#account (the same for every consumer)",
    `Host:     ${navigator.hardwareConcurrency} CPUs; each consumer in its own process, ` +
      "fed by its own replay server process",
    `Replay:   replay_server.ts, ${replayChunk} frames per event-loop turn`,
    "",
  );
  const header = [
    "consumer".padEnd(38),
    "events/s".padStart(10),
    "frames/s".padStart(10),
    "elapsed s".padStart(10),
    "CPU ms/1k ev".padStart(13),
    "CPU %".padStart(6),
    "replay CPU %".padStart(13),
    "others CPU %".padStart(13),
    "delivered".padStart(10),
  ].join(" ");
  lines.push(header, "-".repeat(header.length));
  for (const name of Object.keys(LABELS) as ConsumerName[]) {
    const m = runs[name];
    if (!m) continue;
    if (!m.result) {
      lines.push(`${LABELS[name].padEnd(38)} FAILED: ${m.error}`);
      continue;
    }
    const r = m.result;
    const s = r.elapsedMs / 1000;
    lines.push([
      LABELS[name].padEnd(38),
      fmt(r.events / s).padStart(10),
      fmt(workload.frames / s).padStart(10),
      fmt(s, 2).padStart(10),
      fmt(r.cpuMs / (r.events / 1000), 1).padStart(13),
      fmt(100 * r.cpuMs / r.elapsedMs).padStart(6),
      (m.replayCpuMs === undefined ? "-" : fmt(100 * m.replayCpuMs / r.elapsedMs)).padStart(13),
      fmt(100 * (othersCpuMs(m) ?? NaN) / r.elapsedMs).padStart(13),
      fmt(r.delivered).padStart(10),
    ].join(" "));
  }
  lines.push("");
  lines.push(
    "Notes:",
    "- throughput = workload events / seconds from socket open (sync: from start()) to the last" +
      " event handled (service: durable cursor = last seq); the service's start-up before its" +
      " socket opens (Redis, scripts, cursors) is shown apart",
    "- CPU = the consumer process only (process.cpuUsage); replay server and redis-server are" +
      " separate processes, shown apart; CPU % is of one core",
    "- others CPU % = the machine's busy CPU (/proc/stat) minus consumer, replay and Redis:" +
      " anything well above 0 means the figures are contended",
    "- socket = the service's own WebSocket client (firehose/socket.ts), which reads the" +
      " connection in large chunks and hands each frame over as a view of its chunk",
    "- delivered: transport/decode/raw/socket = events counted; sync = events @atproto/sync handed over;" +
      " service = events normalized and written (kept collections only)",
    "- @atproto/sync runs with unauthenticatedCommits and unauthenticatedHandles: the capture's" +
      " DIDs belong to a PLC that no longer runs, so signatures cannot be checked; its DID" +
      " resolver is a stub answering nothing (it resolves every #identity's DID even then)",
  );
  const sync = runs.sync?.result;
  if (sync) {
    lines.push(
      `- @atproto/sync: ${sync.details.errors} errors, ` +
        `${sync.complete ? "reached the last seq" : "stopped on inactivity before the last seq"}`,
    );
  }
  const service = runs.service;
  if (service?.result) {
    const d = service.result.details;
    lines.push(
      `- service: start-up ${d.startupMs} ms before its socket opened (from startFirehose: ` +
        `${
          fmt(
            Math.round(
              service.result.events / ((service.result.elapsedMs + Number(d.startupMs)) / 1000),
            ),
          )
        } events/s), ` +
        `${d.batches} batches, reconnects: ${d.reconnects}, ` +
        `${d.warnings} warnings${d.firstWarning ? ` (first: ${d.firstWarning})` : ""}`,
    );
  }
  if (service?.redis) {
    const r = service.redis;
    const streams = Object.entries(r.streams).map(([k, n]) => `${k} = ${fmt(n)}`).join(", ");
    lines.push(
      `- Redis after the service run: used_memory ${r.usedMemoryHuman} (${fmt(r.usedMemory)} B),` +
        ` stream length ${streams || "none"}, redis-server CPU ${fmt(r.cpuMs)} ms`,
    );
  }
  const q = ratios(runs);
  const check = (value: number | undefined, target: number, digits: number, unit = "") =>
    value === undefined
      ? "n/a"
      : `${fmt(value, digits)}${unit}  (target ≥ ${fmt(target, digits)}${unit})  ${
        value >= target ? "PASS" : "FAIL"
      }`;
  lines.push(
    "",
    `service ÷ @atproto/sync:    ${check(q.serviceOverSync, TARGETS.serviceOverSync, 2, "x")}`,
    `service ÷ raw WS + decode:  ${check(q.serviceOverRaw, TARGETS.serviceOverRaw, 2)}`,
    `service ÷ socket + decode:  ${
      fmt(q.serviceOverSocket, 2)
    }  (the same socket: what normalizing and writing cost)`,
    `service events/s:           ${
      check(q.serviceEventsPerSecond, TARGETS.serviceEventsPerSecond, 0)
    }`,
    "",
    `CPU per event: service = ${fmt(q.cpuServiceOverRaw, 2)}x raw WS + decode, ` +
      `${fmt(q.cpuServiceOverSocket, 2)}x socket + decode; socket + decode = ` +
      `${fmt(q.cpuSocketOverRaw, 2)}x raw WS + decode; @atproto/sync = ` +
      `${fmt(q.cpuSyncOverService, 1)}x service`,
    `raw WS + decode reached ${fmt(100 * (q.rawOverTransport ?? NaN))}% of the WS-only rate` +
      " (near 100%: the replay server, not the consumer, set the pace)",
    "",
  );
  return lines.join("\n");
}

/** The one-line JSON summary. */
export function summary(
  capture: string,
  workload: Workload,
  runs: Runs,
  replayChunk: number | undefined,
) {
  const out: Record<string, unknown> = {
    bench: "firehose",
    capture,
    replayChunk,
    loops: workload.loops,
    frames: workload.frames,
    events: workload.events,
  };
  for (const [name, m] of Object.entries(runs)) {
    if (!m.result) {
      out[name] = { error: m.error };
      continue;
    }
    const r = m.result;
    out[name] = {
      eventsPerSecond: Math.round(r.events / (r.elapsedMs / 1000)),
      framesPerSecond: Math.round(workload.frames / (r.elapsedMs / 1000)),
      elapsedMs: Math.round(r.elapsedMs),
      cpuMsPer1kEvents: Math.round(100 * r.cpuMs / (r.events / 1000)) / 100,
      delivered: r.delivered,
      complete: r.complete,
      ...(m.replayCpuMs === undefined ? {} : { replayCpuMs: m.replayCpuMs }),
      othersCpuMs: othersCpuMs(m),
      ...(m.redis ? { redis: m.redis } : {}),
      ...r.details,
    };
  }
  const q = ratios(runs);
  const round2 = (n: number | undefined) => n === undefined ? undefined : Math.round(n * 100) / 100;
  out.ratios = {
    serviceOverSync: round2(q.serviceOverSync),
    serviceOverRaw: round2(q.serviceOverRaw),
    serviceOverSocket: round2(q.serviceOverSocket),
    rawOverTransport: round2(q.rawOverTransport),
    cpuServiceOverRaw: round2(q.cpuServiceOverRaw),
    cpuServiceOverSocket: round2(q.cpuServiceOverSocket),
    cpuSocketOverRaw: round2(q.cpuSocketOverRaw),
    cpuSyncOverService: round2(q.cpuSyncOverService),
  };
  out.targets = TARGETS;
  return out;
}
