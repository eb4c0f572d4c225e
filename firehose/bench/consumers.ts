/**
 * The four consumers the benchmark compares. Each runs in its own process (a fresh heap and
 * JIT), over the same workload, and reports the same figures.
 */
import type { IdResolver } from "@atproto/identity";
import { startFirehose } from "../service.ts";
import { deadline, memoryLogger, testConfig } from "../testing/helpers.ts";
import { installIdentityShim } from "../verified.ts";
import { ReadSocket } from "../socket.ts";
import { ownCpuMs, systemBusyMs } from "./cpu.ts";
import { decodeWork, type Workload } from "./workload.ts";

export const CONSUMERS = ["transport", "decode", "raw", "socket", "sync", "service"] as const;
export type ConsumerName = typeof CONSUMERS[number];

export interface ConsumerResult {
  consumer: ConsumerName;
  /** Workload events (the common definition), the numerator of every throughput. */
  events: number;
  /** What the consumer itself produced: events counted, emitted by the library, or written. */
  delivered: number;
  elapsedMs: number;
  /** CPU time of the consumer's process over the measured interval (user + system). */
  cpuMs: number;
  /** Busy CPU time of the whole machine (all processes, all cores) over the same interval. */
  systemBusyMs: number;
  /** False when the run ended on inactivity instead of at the last seq. */
  complete: boolean;
  details: Record<string, string | number>;
}

export interface RunOptions {
  frames: Uint8Array[];
  workload: Workload;
  /** Replay server base URL (ws://127.0.0.1:port). */
  url?: string;
  redisUrl?: string;
  timeoutMs: number;
}

const SUBSCRIBE = "/xrpc/com.atproto.sync.subscribeRepos";

/** CPU of this process and busy CPU of the whole machine, at one instant. */
function cpuNow() {
  return { own: ownCpuMs(), system: systemBusyMs() };
}

/** The CPU figures of a ConsumerResult over [start, now]. */
function cpuSince(start: ReturnType<typeof cpuNow>) {
  const now = cpuNow();
  return { cpuMs: now.own - start.own, systemBusyMs: now.system - start.system };
}

/** 1. The ceiling: the same decoding in a tight loop, no I/O. */
export function runDecodeOnly({ frames, workload }: RunOptions): ConsumerResult {
  const cpu0 = cpuNow();
  const t0 = performance.now();
  let events = 0;
  for (let loop = 0; loop < workload.loops; loop++) {
    for (const f of frames) events += decodeWork(f);
  }
  const elapsedMs = performance.now() - t0;
  return {
    consumer: "decode",
    events: workload.events,
    delivered: events,
    elapsedMs,
    ...cpuSince(cpu0),
    complete: events === workload.events,
    details: { frames: workload.frames },
  };
}

/**
 * What the socket consumers share: the clock and CPU from the socket's open, the events of
 * each frame added up, and the result at the workload's last frame (then `done` closes).
 */
function counter(
  consumer: ConsumerName,
  workload: Workload,
  done: () => void,
  resolve: (r: ConsumerResult) => void,
) {
  let t0 = 0, frames = 0, events = 0;
  let cpu0 = cpuNow();
  return {
    get frames() {
      return frames;
    },
    open() {
      t0 = performance.now();
      cpu0 = cpuNow();
    },
    frame(n: number) {
      events += n;
      if (++frames !== workload.frames) return;
      const elapsedMs = performance.now() - t0;
      const cpu = cpuSince(cpu0);
      done();
      resolve({
        consumer,
        events: workload.events,
        delivered: events,
        elapsedMs,
        ...cpu,
        complete: true,
        details: { frames },
      });
    },
    /** A close before the last frame fails the run. */
    closed(reject: (err: Error) => void) {
      if (frames < workload.frames) {
        reject(new Error(`Socket closed after ${frames} of ${workload.frames} frames`));
      }
    },
  };
}

/**
 * 2. A Deno WebSocket doing the same decoding and counting; with `decode` false, only
 * counting frames (the reference: what the replay server and the socket can carry).
 */
export function runRawWebSocket(
  { url, workload, timeoutMs }: RunOptions,
  decode = true,
): Promise<ConsumerResult> {
  const eventsOf = workload.eventsOfFrame;
  return deadline(
    "raw WebSocket consumer",
    timeoutMs,
    new Promise((resolve, reject) => {
      const ws = new WebSocket(url + SUBSCRIBE);
      ws.binaryType = "arraybuffer";
      const count = counter(decode ? "raw" : "transport", workload, () => ws.close(), resolve);
      ws.onopen = () => count.open();
      ws.onmessage = (msg) =>
        count.frame(
          decode
            ? decodeWork(new Uint8Array(msg.data as ArrayBuffer))
            : eventsOf[count.frames % eventsOf.length],
        );
      ws.onerror = (ev) => reject(new Error(`WebSocket error: ${(ev as ErrorEvent).message}`));
      ws.onclose = () => count.closed(reject);
    }),
  );
}

/**
 * 3. The same decoding and counting on the service's own socket (socket.ts): what the service
 * would take without normalizing and writing.
 */
export function runSocket({ url, workload, timeoutMs }: RunOptions): Promise<ConsumerResult> {
  return deadline(
    "firehose socket consumer",
    timeoutMs,
    new Promise((resolve, reject) => {
      let socket: ReadSocket | undefined = undefined;
      const count = counter("socket", workload, () => socket?.close(), resolve);
      socket = new ReadSocket(url + SUBSCRIBE, {
        open: () => count.open(),
        message: (data) => count.frame(typeof data === "string" ? 0 : decodeWork(data)),
        oversize: (bytes) => reject(new Error(`A frame of ${bytes} bytes is over the limit`)),
        error: (message) => reject(new Error(`Socket error: ${message}`)),
        close: () => count.closed(reject),
      });
    }),
  );
}

/**
 * A resolver that answers nothing. @atproto/sync resolves the DID of every #identity event
 * even with unauthenticatedHandles, and the capture's PLC is gone (and this box offline).
 */
const noResolver = {
  did: {
    resolve: () => Promise.resolve(null),
    resolveAtprotoKey: () => Promise.reject(new Error("No PLC in the benchmark")),
  },
  handle: { resolve: () => Promise.resolve(undefined) },
} as unknown as IdResolver;

/** 4. npm:@atproto/sync's Firehose, counting the events it hands over. */
export async function runAtprotoSync(
  { url, workload, timeoutMs }: RunOptions,
): Promise<ConsumerResult> {
  installIdentityShim();
  const { Firehose } = await import("@atproto/sync");
  let delivered = 0, errors = 0, maxSeq = 0, lastProgress = 0;
  let finish: () => void = () => {};
  const finished = new Promise<void>((r) => finish = r);
  const progress = (seq: unknown) => {
    lastProgress = performance.now();
    if (typeof seq === "number" && seq > maxSeq) maxSeq = seq;
    if (maxSeq >= workload.lastSeq) finish();
  };
  const firehose = new Firehose({
    service: url,
    idResolver: noResolver,
    unauthenticatedCommits: true,
    unauthenticatedHandles: true,
    excludeSync: true,
    handleEvent: (evt) => {
      delivered++;
      progress(evt.seq);
      return Promise.resolve();
    },
    onError: (err) => {
      errors++;
      const e = err as { event?: { seq?: unknown }; value?: { seq?: unknown } };
      progress(e.event?.seq ?? e.value?.seq);
    },
  });
  const cpu0 = cpuNow();
  const t0 = performance.now();
  const running = firehose.start();
  // The last frame may carry nothing the library hands over: then stop on a quiet second.
  const idle = setInterval(() => {
    if (lastProgress > 0 && performance.now() - lastProgress > 1000) finish();
  }, 100);
  try {
    await deadline("@atproto/sync consumer", timeoutMs, Promise.race([finished, running]));
  } finally {
    clearInterval(idle);
  }
  const complete = maxSeq >= workload.lastSeq;
  const end = complete ? performance.now() : lastProgress;
  const result: ConsumerResult = {
    consumer: "sync",
    events: workload.events,
    delivered,
    elapsedMs: end - t0,
    ...cpuSince(cpu0),
    complete,
    details: { errors, lastSeqSeen: maxSeq },
  };
  await deadline("@atproto/sync destroy", 5000, firehose.destroy()).catch(() => {});
  return result;
}

/** 5. The whole service: its socket, decode, normalize, Redis streams with the cursor. */
export async function runService(
  { url, redisUrl, workload, timeoutMs }: RunOptions,
): Promise<ConsumerResult> {
  // Measured from its socket's open, as the raw consumer is: the start-up before it (Redis,
  // scripts, cursors) is a figure of its own.
  let opened: { at: number; cpu: ReturnType<typeof cpuNow> } | undefined;
  const log = memoryLogger((line) => {
    if (opened === undefined && line.msg === "Connected to the firehose") {
      opened = { at: performance.now(), cpu: cpuNow() };
    }
  });
  const t0 = performance.now();
  const service = await startFirehose(
    testConfig({
      REDIS_URL: redisUrl!,
      FIREHOSE_URL: url!,
      FIREHOSE_METRICS_PORT: "0",
      // The service's own setting, so both modes can be measured.
      FIREHOSE_DECODE_WORKER: Deno.env.get("FIREHOSE_DECODE_WORKER") ?? "",
    }),
    log,
  );
  const reached = (async () => {
    while (service.subscription.cursor !== workload.lastSeq) {
      await new Promise((r) => setTimeout(r, 2));
    }
  })();
  await deadline("the service's durable cursor", timeoutMs, Promise.race([reached, service.done]));
  if (opened === undefined) {
    throw new Error("The service reached the last seq without opening a socket");
  }
  const elapsedMs = performance.now() - opened.at;
  const cpu = cpuSince(opened.cpu);
  const m = service.metrics;
  let written = 0;
  for (const line of (await m.registry.render()).split("\n")) {
    if (line.startsWith("firehose_events_total{")) written += Number(line.split(" ").pop());
  }
  const warnings = log.lines.filter((l) => l.level === "warn" || l.level === "error");
  const reconnects = ["backpressure", "stall", "closed_by_peer", "upstream_error", "open_failed"]
    .map((reason) => [reason, m.reconnects.get({ reason })] as const)
    .filter(([, n]) => n > 0)
    .map(([reason, n]) => `${reason}=${n}`)
    .join(",");
  const result: ConsumerResult = {
    consumer: "service",
    events: workload.events,
    delivered: written,
    elapsedMs,
    ...cpu,
    complete: true,
    details: {
      startupMs: Math.round(opened.at - t0),
      batches: m.batch.count,
      reconnects: reconnects || "none",
      warnings: warnings.length,
      firstWarning: warnings.length ? String(warnings[0].msg) : "",
    },
  };
  await deadline("service stop", 10_000, service.stop()).catch(() => {});
  return result;
}
