/**
 * The firehose subscription: one WebSocket at a time to the relay (or Jetstream). Frames
 * go in runs, in order, to the frame processor (pipeline.ts: on this thread, or in a
 * worker), and its encoded events are written in batches with their cursor. The reconnect
 * loop, its backoff and stop() are the base's (base_subscription.ts).
 *
 * Nothing is acknowledged upstream, so the only promise to keep is the cursor's: it moves
 * in the same atomic step as the events it covers, and every reconnection resumes from the
 * last processed seq once everything before it is written. When Redis slows down or goes
 * away the socket is closed (pending events cap) and reopened from the cursor later.
 */
import { COLLECTIONS } from "@bsky/shared/events";
import { errorMessage } from "@bsky/shared/errors";
import type { Logger } from "@bsky/shared/log";
import { sleep } from "./batcher.ts";
import { type BaseOptions, BaseSubscription } from "./base_subscription.ts";
import type { ProcessResult } from "./frame_processor.ts";
import type { FirehoseMetrics } from "./metrics.ts";
import { Pipeline, type PipelineOptions } from "./pipeline.ts";
import type { Publisher } from "./publisher.ts";
import { ReadSocket } from "./socket.ts";

/** `url` is the relay's or Jetstream's. */
export interface SubscriptionOptions extends BaseOptions, PipelineOptions {
  stallMs: number;
  /** The streams' cap: the subscription pauses before consumers fall that far behind. */
  maxLen?: number;
}

/** Pause when consumers are this close to the streams' cap; resume below the second. */
const PAUSE_AT = 0.8, RESUME_AT = 0.5;

/** Messages handed to the processor at once; a burst is cut into runs of this size. */
const RUN = 256;

export class Subscription extends BaseSubscription<SubscriptionOptions> {
  #socket: ReadSocket | undefined;
  #resetCursor = false;
  #closeSocket: ((reason: string) => void) | undefined;
  #pipeline: Pipeline;
  /** Results applied in order: each waits for the one before. */
  #applying: Promise<void> = Promise.resolve();

  constructor(
    options: SubscriptionOptions,
    publisher: Publisher,
    metrics: FirehoseMetrics,
    log: Logger,
  ) {
    super(options, publisher, metrics, log);
    this.#pipeline = new Pipeline(options, publisher.options.partitions);
  }

  override watch(dids: readonly string[]): void {
    super.watch(dids);
    this.#pipeline.watch(dids);
  }

  get connected(): boolean {
    return this.#socket?.open === true;
  }

  protected announce(cursor: number | undefined): void {
    this.log.info("Starting firehose subscription", {
      url: this.options.url,
      source: this.options.source,
      cursor: cursor ?? null,
      worker: this.options.worker === true,
    });
  }

  protected disconnect(): void {
    this.#socket?.close(1000, "shutting down");
  }

  protected onConflict(): void {
    this.#socket?.close(1000, "cursor conflict");
  }

  protected override onFull(): void {
    this.#closeSocket?.("consumer_lag");
  }

  protected override async beforeConnect(): Promise<void> {
    if (this.#resetCursor) {
      this.#resetCursor = false;
      this.batcher.seq = undefined;
    }
    await this.#waitForConsumers();
  }

  protected override release(): void {
    this.#pipeline.close();
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

  /** True when consumers are so far behind that writing more would soon trim unread events. */
  async #consumersBehind(threshold: number): Promise<boolean> {
    if (!this.options.maxLen) return false;
    const lag = await this.batcher.publisher.consumerLag().catch(() => 0);
    this.metrics.consumerLag.set(undefined, lag);
    return lag + this.batcher.unwritten >= threshold * this.options.maxLen;
  }

  /**
   * Holds the subscription while consumers are behind: the cursor keeps our place, so
   * pausing loses nothing, where writing on would let the cap trim unread events.
   */
  async #waitForConsumers(): Promise<void> {
    if (!await this.#consumersBehind(PAUSE_AT)) return;
    this.log.warn("Consumers are behind; the firehose waits for them", {
      maxLen: this.options.maxLen,
    });
    while (!this.abort.signal.aborted && await this.#consumersBehind(RESUME_AT)) {
      await sleep(500, this.abort.signal);
    }
    this.log.info("Consumers caught up; the firehose goes on");
  }

  /** Waits for every frame received to be processed and every event to be written. */
  protected override async settle(): Promise<void> {
    await this.#pipeline.idle();
    await this.#applying;
    await this.batcher.drain();
  }

  /** Opens one socket and resolves with the number of frames received once it closes. */
  protected connectOnce(cursor: number | undefined): Promise<number> {
    this.#pipeline.reset(cursor);
    const url = this.#url(cursor);
    return new Promise((resolve) => {
      let received = 0;
      let lastFrame = Date.now();
      let closing = false;
      let inbox: (Uint8Array | string)[] = [];
      let scheduled = false;
      let ws: ReadSocket;
      const close = (reason: string) => {
        if (closing) return;
        closing = true;
        this.metrics.reconnects.inc({ reason });
        ws.close(1000, reason);
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
      const opened = () => {
        lastFrame = Date.now();
        this.metrics.connected.set(undefined, 1);
        this.log.info("Connected to the firehose", { cursor: cursor ?? null });
      };
      const message = (data: Uint8Array | string) => {
        // After we decided to close, frames still buffered are left for the next connection.
        if (closing) return;
        lastFrame = Date.now();
        received++;
        inbox.push(data);
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
      const oversize = (bytes: number) => {
        this.metrics.dropped.inc({ reason: "frame_too_large" });
        this.log.warn("A frame over the size limit was skipped", { bytes });
      };
      const error = (err: string) => this.log.warn("Firehose socket error", { err });
      const closed = (code: number, reason: string) => {
        clearInterval(watchdog);
        this.#closeSocket = undefined;
        send();
        this.metrics.connected.set(undefined, 0);
        if (!closing && !this.abort.signal.aborted) {
          this.metrics.reconnects.inc({ reason: "closed_by_peer" });
          this.log.warn("Firehose socket closed", { code, reason });
        }
        closing = true;
        this.#socket = undefined;
        resolve(received);
      };
      try {
        ws = new ReadSocket(url, { open: opened, message, oversize, error, close: closed });
      } catch (err) {
        clearInterval(watchdog);
        this.#closeSocket = undefined;
        this.log.error("Cannot open the firehose socket", { url, err: errorMessage(err) });
        this.metrics.reconnects.inc({ reason: "open_failed" });
        return resolve(0);
      }
      this.#socket = ws;
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
