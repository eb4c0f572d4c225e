/**
 * Holds the events decoded since the last write and writes them with their cursor, one
 * batch in flight at a time. Both subscriptions (fast and verified) share it.
 */
import { errorMessage } from "@bsky/shared/errors";
import type { FirehoseEvent } from "@bsky/shared/events";
import type { Logger } from "@bsky/shared/log";
import type { FirehoseMetrics } from "./metrics.ts";
import type { Publisher } from "./publisher.ts";

export const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });

export class Batcher {
  /** Events processed and not yet written; producers push here, then call advance(). */
  pending: FirehoseEvent[] = [];
  /** Last seq processed (its events are pending or written). */
  seq: number | undefined;
  /** Last seq written with its events. */
  durable: number | undefined;
  #flushing: Promise<void> | undefined;
  #eventCounters = new Map<string, { inc(by?: number): void }>();
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    readonly publisher: Publisher,
    readonly metrics: FirehoseMetrics,
    readonly log: Logger,
    readonly batchSize: number,
    readonly signal: AbortSignal,
    /** Called when the stored cursor moved under us and seq was reset to it. */
    readonly onConflict: () => void,
  ) {}

  async load(): Promise<number | undefined> {
    this.durable = this.seq = await this.publisher.loadCursor();
    this.metrics.cursor.set(undefined, this.durable ?? 0);
    return this.durable;
  }

  startTimer(ms: number): void {
    this.#timer = setInterval(() => this.flushSoon(), ms);
  }

  stopTimer(): void {
    clearInterval(this.#timer);
  }

  /** True when `seq` was already processed (a frame replayed after a reconnection). */
  seen(seq: number): boolean {
    return this.seq !== undefined && seq <= this.seq;
  }

  /** Records that everything up to `seq` is processed; `firstNew` indexes its events. */
  advance(seq: number, firstNew: number): void {
    this.seq = seq;
    const m = this.metrics;
    m.seq.set(undefined, seq);
    const pending = this.pending;
    for (let i = firstNew; i < pending.length; i++) {
      const e = pending[i];
      const label = e.kind === "commit" ? e.collection : e.kind;
      let counter = this.#eventCounters.get(label);
      if (!counter) {
        counter = m.events.with({
          kind: e.kind,
          collection: e.kind === "commit" ? e.collection : "",
        });
        this.#eventCounters.set(label, counter);
      }
      counter.inc();
    }
    if (pending.length > firstNew) {
      m.lag.set(undefined, (Date.now() - pending[pending.length - 1].time) / 1000);
    }
    if (pending.length >= this.batchSize) this.flushSoon();
  }

  /** True when something processed is not written yet (seq is unset after a cursor reset). */
  #behind(): boolean {
    return this.seq !== undefined && (this.seq !== this.durable || this.pending.length > 0);
  }

  /** Starts a write unless one is in flight or there is nothing to write. */
  flushSoon(): void {
    if (this.#flushing) return;
    if (!this.#behind()) return;
    this.#flushing = this.#flush().finally(() => {
      this.#flushing = undefined;
      if (this.pending.length >= this.batchSize) this.flushSoon();
    });
  }

  async #flush(): Promise<void> {
    const events = this.pending;
    const to = this.seq;
    if (to === undefined) return;
    this.pending = [];
    const started = performance.now();
    try {
      const result = await this.publisher.publish(events, this.durable, to);
      this.metrics.batch.observe((performance.now() - started) / 1000);
      if (result.status === "conflict") {
        this.metrics.publishConflicts.inc();
        this.log.error("Stored cursor moved under this process; resuming from it", {
          expected: this.durable ?? null,
          stored: result.current ?? null,
        });
        // What is stored is consistent with the streams; trust it over memory. Events
        // decoded meanwhile are dropped too: they will come again from the stored cursor.
        this.pending = [];
        this.durable = this.seq = result.current ?? this.durable;
        this.onConflict();
      } else {
        this.durable = to;
      }
      this.metrics.cursor.set(undefined, this.durable ?? 0);
    } catch (err) {
      // Put the batch back in front: order per author must survive a failed write.
      this.pending = events.concat(this.pending);
      this.log.error("Cannot write a batch to Redis", {
        err: errorMessage(err),
        events: events.length,
      });
      await sleep(500, this.signal);
    } finally {
      this.metrics.pending.set(undefined, this.pending.length);
    }
  }

  /** Resolves when the write in flight, if any, is done. */
  async settle(): Promise<void> {
    await this.#flushing;
  }

  /**
   * Writes everything processed so far, waiting for Redis as long as it takes; when
   * stopping, gives up after a failed write (the durable cursor still covers the rest).
   */
  async drain(): Promise<void> {
    while (this.#flushing || this.#behind()) {
      if (!this.#flushing) this.flushSoon();
      await this.#flushing;
      if (this.signal.aborted && this.seq !== this.durable && this.pending.length > 0) {
        const failed = this.pending.length;
        this.log.error("Stopping with events not written; they will be read again", {
          events: failed,
          cursor: this.durable ?? null,
        });
        break;
      }
    }
  }
}
