/**
 * The firehose subscription: one WebSocket at a time to the relay (or Jetstream). Frames
 * go in runs, in order, to the frame processor (on this thread, or in a worker so that
 * decoding runs beside the socket and Redis work), and its encoded events are written in
 * batches with their cursor.
 *
 * Nothing is acknowledged upstream, so the only promise to keep is the cursor's: it moves
 * in the same atomic step as the events it covers, and every reconnection resumes from the
 * last processed seq once everything before it is written. When Redis slows down or goes
 * away the socket is closed (pending events cap) and reopened from the cursor later.
 */
import { COLLECTIONS } from "@bsky/shared/events";
import { errorMessage } from "@bsky/shared/errors";
import type { Logger } from "@bsky/shared/log";
import { backoffMs } from "@bsky/shared/redis";
import { Batcher, sleep } from "./batcher.ts";
import type { WorkerRequest } from "./decode_worker.ts";
import { FrameProcessor, type ProcessResult } from "./frame_processor.ts";
import type { FirehoseMetrics } from "./metrics.ts";
import type { Limits } from "./normalize.ts";
import type { Publisher } from "./publisher.ts";

export interface SubscriptionOptions {
  /** Base URL of the relay or Jetstream (ws:// or wss://), without the XRPC path. */
  url: string;
  source: "relay" | "jetstream";
  batchSize: number;
  batchMs: number;
  maxPending: number;
  stallMs: number;
  /** The streams' cap: the subscription pauses before consumers fall that far behind. */
  maxLen?: number;
  limits: Limits;
  /** Decode in a worker thread instead of on the main thread. */
  worker?: boolean;
}

/** Pause when consumers are this close to the streams' cap; resume below the second. */
const PAUSE_AT = 0.8, RESUME_AT = 0.5;

/** Messages handed to the processor at once; a burst is cut into runs of this size. */
const RUN = 256;

/** Runs the frame processor on this thread or in a worker, results in order either way. */
class Pipeline {
  #worker: Worker | undefined;
  #inline: FrameProcessor | undefined;
  #nextId = 0;
  #waiting = new Map<number, (r: ProcessResult) => void>();
  /** Messages sent and not yet answered. */
  inFlight = 0;
  #idle: (() => void)[] = [];

  constructor(options: SubscriptionOptions, partitions: number) {
    if (!options.worker) {
      this.#inline = new FrameProcessor(options.source, options.limits, partitions);
      return;
    }
    this.#worker = new Worker(new URL("./decode_worker.ts", import.meta.url), { type: "module" });
    this.#worker.onmessage = (e: MessageEvent<{ id: number; result: ProcessResult }>) => {
      const resolve = this.#waiting.get(e.data.id)!;
      this.#waiting.delete(e.data.id);
      resolve(e.data.result);
    };
    this.#post({ type: "init", source: options.source, limits: options.limits, partitions });
  }

  #post(m: WorkerRequest, transfer: Transferable[] = []): void {
    this.#worker!.postMessage(m, transfer);
  }

  /** Replaces the watched accounts (Limits.watch) of the worker; inline shares the Limits. */
  watch(dids: readonly string[]): void {
    if (this.#worker) this.#post({ type: "watch", dids: [...dids] });
  }

  /** Sets the seq at and below which messages are replays. */
  reset(seq: number | undefined): void {
    if (this.#inline) this.#inline.lastSeq = seq;
    else this.#post({ type: "reset", seq });
  }

  async process(frames: (ArrayBuffer | string)[]): Promise<ProcessResult> {
    this.inFlight += frames.length;
    try {
      if (this.#inline) return this.#inline.process(frames);
      const id = this.#nextId++;
      const result = new Promise<ProcessResult>((r) => this.#waiting.set(id, r));
      const transfer = frames.filter((f): f is ArrayBuffer => typeof f !== "string");
      this.#post({ type: "frames", id, frames }, transfer);
      return await result;
    } finally {
      this.inFlight -= frames.length;
      if (this.inFlight === 0) this.#idle.splice(0).forEach((r) => r());
    }
  }

  /** Resolves once every message sent has its result. */
  idle(): Promise<void> {
    return this.inFlight === 0 ? Promise.resolve() : new Promise((r) => this.#idle.push(r));
  }

  close(): void {
    this.#worker?.terminate();
  }
}

export class Subscription {
  #socket: WebSocket | undefined;
  #abort = new AbortController();
  #running: Promise<void> | undefined;
  #resetCursor = false;
  #closeSocket: ((reason: string) => void) | undefined;
  #pipeline: Pipeline;
  /** Results applied in order: each waits for the one before. */
  #applying: Promise<void> = Promise.resolve();
  readonly batcher: Batcher;

  constructor(
    readonly options: SubscriptionOptions,
    publisher: Publisher,
    readonly metrics: FirehoseMetrics,
    readonly log: Logger,
  ) {
    this.batcher = new Batcher(
      publisher,
      metrics,
      log,
      options.batchSize,
      this.#abort.signal,
      () => this.#socket?.close(1000, "cursor conflict"),
      () => this.#closeSocket?.("consumer_lag"),
    );
    this.#pipeline = new Pipeline(options, publisher.options.partitions);
  }

  /** Durable cursor as last written. */
  get cursor(): number | undefined {
    return this.batcher.durable;
  }

  /** Replaces the accounts whose mentions carry what a reply needs (shared/watch.ts). */
  watch(dids: readonly string[]): void {
    this.options.limits.watch = new Set(dids);
    this.#pipeline.watch(dids);
  }

  get connected(): boolean {
    return this.#socket?.readyState === WebSocket.OPEN;
  }

  /** Loads the cursor and runs until stop(). */
  start(): Promise<void> {
    this.#running ??= this.#run();
    return this.#running;
  }

  /** Closes the socket, writes what is pending and returns when done. */
  async stop(): Promise<void> {
    this.#abort.abort();
    this.#socket?.close(1000, "shutting down");
    await this.#running;
  }

  #url(cursor: number | undefined): string {
    if (this.options.source === "jetstream") {
      const params = new URLSearchParams();
      for (const c of COLLECTIONS) params.append("wantedCollections", c);
      if (cursor !== undefined) params.set("cursor", String(cursor));
      return `${this.options.url}/subscribe?${params}`;
    }
    const q = cursor !== undefined ? `?cursor=${cursor}` : "";
    return `${this.options.url}/xrpc/com.atproto.sync.subscribeRepos${q}`;
  }

  async #run(): Promise<void> {
    const b = this.batcher;
    const cursor = await b.load();
    this.log.info("Starting firehose subscription", {
      url: this.options.url,
      source: this.options.source,
      cursor: cursor ?? null,
      worker: this.options.worker === true,
    });
    b.startTimer(this.options.batchMs);
    let attempt = 0;
    try {
      while (!this.#abort.signal.aborted) {
        await this.#settle();
        if (this.#resetCursor) {
          this.#resetCursor = false;
          b.seq = undefined;
        }
        await this.#waitForConsumers();
        if (this.#abort.signal.aborted) break;
        this.#pipeline.reset(b.seq);
        const received = await this.#connectOnce(b.seq);
        await this.#settle();
        if (this.#abort.signal.aborted) break;
        attempt = received > 0 ? 1 : attempt + 1;
        const delay = backoffMs(attempt, 250, 30_000);
        this.log.info("Reconnecting to the firehose", { delayMs: delay, cursor: b.seq ?? null });
        await sleep(delay, this.#abort.signal);
      }
    } finally {
      b.stopTimer();
      await this.#settle();
      this.#pipeline.close();
    }
  }

  /** True when consumers are so far behind that writing more would soon trim unread events. */
  async #consumersBehind(threshold: number): Promise<boolean> {
    if (!this.options.maxLen) return false;
    const lag = await this.batcher.publisher.consumerLag().catch(() => 0);
    this.metrics.consumerLag.set(undefined, lag);
    return lag + this.batcher.unwritten >= threshold * this.options.maxLen;
  }

  /**
   * Holds the subscription while consumers are behind: the cursor keeps our place, so
   * pausing loses nothing, where writing on would let XADD MAXLEN trim unread events.
   */
  async #waitForConsumers(): Promise<void> {
    if (!await this.#consumersBehind(PAUSE_AT)) return;
    this.log.warn("Consumers are behind; the firehose waits for them", {
      maxLen: this.options.maxLen,
    });
    while (!this.#abort.signal.aborted && await this.#consumersBehind(RESUME_AT)) {
      await sleep(500, this.#abort.signal);
    }
    this.log.info("Consumers caught up; the firehose goes on");
  }

  /** Waits for every frame received to be processed and every event to be written. */
  async #settle(): Promise<void> {
    await this.#pipeline.idle();
    await this.#applying;
    await this.batcher.drain();
  }

  /** Opens one socket and resolves with the number of frames received once it closes. */
  #connectOnce(cursor: number | undefined): Promise<number> {
    const url = this.#url(cursor);
    return new Promise((resolve) => {
      let received = 0;
      let lastFrame = Date.now();
      let closing = false;
      let inbox: (ArrayBuffer | string)[] = [];
      let scheduled = false;
      let ws: WebSocket;
      try {
        ws = new WebSocket(url);
      } catch (err) {
        this.log.error("Cannot open the firehose socket", { url, err: errorMessage(err) });
        this.metrics.reconnects.inc({ reason: "open_failed" });
        return resolve(0);
      }
      ws.binaryType = "arraybuffer";
      this.#socket = ws;
      const close = (reason: string) => {
        if (closing) return;
        closing = true;
        this.metrics.reconnects.inc({ reason });
        try {
          ws.close(1000, reason);
        } catch { /* already closed */ }
      };
      const send = () => {
        scheduled = false;
        if (inbox.length === 0) return;
        const frames = inbox;
        inbox = [];
        const result = this.#pipeline.process(frames);
        this.#applying = this.#applying.then(async () => {
          if (this.#apply(await result) === "close") close("upstream_error");
        });
      };
      const watchdog = setInterval(() => {
        if (Date.now() - lastFrame > this.options.stallMs) {
          this.log.warn("No frame within the stall timeout", { stallMs: this.options.stallMs });
          close("stall");
        }
      }, Math.min(1000, this.options.stallMs));
      this.#closeSocket = close;
      ws.onopen = () => {
        lastFrame = Date.now();
        this.metrics.connected.set(undefined, 1);
        this.log.info("Connected to the firehose", { cursor: cursor ?? null });
      };
      ws.onmessage = (msg) => {
        // After we decided to close, frames still buffered are left for the next connection.
        if (closing) return;
        lastFrame = Date.now();
        received++;
        inbox.push(msg.data);
        if (inbox.length >= RUN) send();
        else if (!scheduled) {
          scheduled = true;
          setTimeout(send, 0);
        }
        const waiting = this.#pipeline.inFlight + inbox.length + this.batcher.unwritten;
        if (waiting >= this.options.maxPending) {
          this.log.warn("Too many events waiting for Redis; pausing the firehose", { waiting });
          close("backpressure");
        }
      };
      ws.onerror = (ev) => {
        const message = (ev as ErrorEvent).message ?? "socket error";
        this.log.warn("Firehose socket error", { err: message });
      };
      ws.onclose = (ev) => {
        clearInterval(watchdog);
        this.#closeSocket = undefined;
        send();
        this.metrics.connected.set(undefined, 0);
        if (!closing && !this.#abort.signal.aborted) {
          this.metrics.reconnects.inc({ reason: "closed_by_peer" });
          this.log.warn("Firehose socket closed", { code: ev.code, reason: ev.reason });
        }
        closing = true;
        this.#socket = undefined;
        resolve(received);
      };
    });
  }

  /** Applies one processor result; "close" asks for a reconnection. */
  #apply(r: ProcessResult): "ok" | "close" {
    const m = this.metrics;
    m.bytes.inc(undefined, r.bytes);
    for (const type in r.frames) this.#countFrame(type, r.frames[type]);
    for (const reason in r.dropped) m.dropped.inc({ reason }, r.dropped[reason]);
    if (r.ignored) m.ignored.inc(undefined, r.ignored);
    for (const label in r.events) m.countEvents(label, r.events[label]);
    if (r.lastTime !== undefined) m.lag.set(undefined, (Date.now() - r.lastTime) / 1000);
    this.batcher.addChunks(r.chunks, r.count, r.counts);
    if (r.seq !== undefined) this.batcher.advance(r.seq);
    let verdict: "ok" | "close" = "ok";
    for (const n of r.notices) {
      if (n.kind === "info") {
        m.infos.inc({ name: n.name });
        this.log.warn("Firehose info frame", { name: n.name, message: n.message });
      } else {
        m.errors.inc({ error: n.name });
        this.log.error("Firehose error frame", { error: n.name, message: n.message });
        // A cursor from the future can never be served: start from the live tip instead.
        if (n.name === "FutureCursor") this.#resetCursor = true;
        verdict = "close";
      }
    }
    return verdict;
  }

  #frameCounters = new Map<string, { inc(by?: number): void }>();

  #countFrame(type: string, n: number): void {
    let counter = this.#frameCounters.get(type);
    if (!counter) {
      // Frame types come from upstream: bound the label set.
      if (this.#frameCounters.size >= 32) type = "other";
      counter = this.metrics.frames.with({ type });
      this.#frameCounters.set(type, counter);
    }
    counter.inc(n);
  }
}
