/**
 * The firehose subscription: one WebSocket at a time to the relay (or Jetstream), frames
 * normalized synchronously as they arrive, events written in batches with their cursor.
 *
 * Nothing is acknowledged upstream, so the only promise to keep is the cursor's: it moves
 * in the same atomic step as the events it covers, and every reconnection resumes from the
 * last processed seq once everything before it is written. When Redis slows down or goes
 * away the socket is closed (pending events cap) and reopened from the cursor later.
 */
import { errorMessage } from "@bsky/shared/errors";
import type { Logger } from "@bsky/shared/log";
import { backoffMs } from "@bsky/shared/redis";
import { decodeFrame } from "./frame.ts";
import { normalizeJetstream } from "./jetstream.ts";
import type { FirehoseMetrics } from "./metrics.ts";
import type { Limits } from "./normalize.ts";
import type { Publisher } from "./publisher.ts";
import { Batcher, sleep } from "./batcher.ts";
import { normalizeDecodedFrame } from "./relay.ts";
import { COLLECTIONS } from "@bsky/shared/events";

export interface SubscriptionOptions {
  /** Base URL of the relay or Jetstream (ws:// or wss://), without the XRPC path. */
  url: string;
  source: "relay" | "jetstream";
  batchSize: number;
  batchMs: number;
  maxPending: number;
  stallMs: number;
  limits: Limits;
}

const decoder = new TextDecoder();

export class Subscription {
  #socket: WebSocket | undefined;
  #abort = new AbortController();
  #running: Promise<void> | undefined;
  #resetCursor = false;
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
    );
  }

  /** Durable cursor as last written. */
  get cursor(): number | undefined {
    return this.batcher.durable;
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
    });
    b.startTimer(this.options.batchMs);
    let attempt = 0;
    try {
      while (!this.#abort.signal.aborted) {
        if (this.#resetCursor) {
          this.#resetCursor = false;
          await b.drain();
          b.seq = undefined;
        }
        const received = await this.#connectOnce(b.seq);
        await b.drain();
        if (this.#abort.signal.aborted) break;
        attempt = received > 0 ? 1 : attempt + 1;
        const delay = backoffMs(attempt, 250, 30_000);
        this.log.info("Reconnecting to the firehose", { delayMs: delay, cursor: b.seq ?? null });
        await sleep(delay, this.#abort.signal);
      }
    } finally {
      b.stopTimer();
      await b.drain();
    }
  }
  /** Opens one socket and resolves with the number of frames handled once it closes. */
  #connectOnce(cursor: number | undefined): Promise<number> {
    const url = this.#url(cursor);
    return new Promise((resolve) => {
      let received = 0;
      let lastFrame = Date.now();
      let closing = false;
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
      const watchdog = setInterval(() => {
        if (Date.now() - lastFrame > this.options.stallMs) {
          this.log.warn("No frame within the stall timeout", { stallMs: this.options.stallMs });
          close("stall");
        }
      }, Math.min(1000, this.options.stallMs));
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
        const outcome = this.#handle(msg.data);
        if (outcome === "close") close("upstream_error");
        else if (this.batcher.pending.length >= this.options.maxPending) {
          this.log.warn("Too many events waiting for Redis; pausing the firehose", {
            pending: this.batcher.pending.length,
          });
          close("backpressure");
        }
      };
      ws.onerror = (ev) => {
        const message = (ev as ErrorEvent).message ?? "socket error";
        this.log.warn("Firehose socket error", { err: message });
      };
      ws.onclose = (ev) => {
        clearInterval(watchdog);
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

  #frameCounters = new Map<string, { inc(by?: number): void }>();

  #countFrame(type: string): void {
    let counter = this.#frameCounters.get(type);
    if (!counter) {
      // Frame types come from upstream: bound the label set.
      if (this.#frameCounters.size >= 32) type = "other";
      counter = this.metrics.frames.with({ type });
      this.#frameCounters.set(type, counter);
    }
    counter.inc();
  }

  /** Handles one message; "close" asks for a reconnection. */
  #handle(data: unknown): "ok" | "close" {
    const m = this.metrics;
    if (this.options.source === "jetstream") {
      const text = typeof data === "string" ? data : decoder.decode(data as ArrayBuffer);
      m.bytes.inc(undefined, text.length);
      this.#countFrame("json");
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        m.stats.drop("bad_frame");
        return "ok";
      }
      const b = this.batcher;
      const before = b.pending.length;
      const cursor = normalizeJetstream(
        parsed,
        b.pending,
        m.stats,
        this.options.limits,
        text.length,
      );
      if (cursor === undefined) return "ok";
      if (b.seen(cursor)) {
        b.pending.length = before; // already processed before a reconnection
        return "ok";
      }
      b.advance(cursor, before);
      return "ok";
    }
    if (!(data instanceof ArrayBuffer)) {
      m.stats.drop("bad_frame");
      return "ok";
    }
    const bytes = new Uint8Array(data);
    m.bytes.inc(undefined, bytes.length);
    let frame;
    try {
      frame = decodeFrame(bytes);
    } catch {
      m.frames.inc({ type: "malformed" });
      m.stats.drop("bad_frame");
      return "ok";
    }
    this.#countFrame(frame.type === "other" ? frame.t : frame.type);
    const seq = frame.type === "#info" || frame.type === "error" ? undefined : frame.body.seq;
    const b = this.batcher;
    if (seq !== undefined && b.seen(seq)) return "ok";
    const before = b.pending.length;
    const outcome = normalizeDecodedFrame(frame, b.pending, m.stats, this.options.limits);
    switch (outcome.kind) {
      case "events":
        if (outcome.seq >= 0) b.advance(outcome.seq, before);
        return "ok";
      case "info":
        m.infos.inc({ name: outcome.name });
        this.log.warn("Firehose info frame", { name: outcome.name, message: outcome.message });
        return "ok";
      case "error":
        m.errors.inc({ error: outcome.error });
        this.log.error("Firehose error frame", { error: outcome.error, message: outcome.message });
        // A cursor from the future can never be served: start from the live tip instead.
        if (outcome.error === "FutureCursor") this.#resetCursor = true;
        return "close";
      case "bad":
        return "ok";
    }
  }
}
