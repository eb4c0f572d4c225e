/**
 * Holds the events processed since the last write, already encoded and split by
 * partition, and writes them with their cursor, one batch in flight at a time. Both
 * subscriptions (fast and verified) share it.
 */
import { errorMessage } from "@bsky/shared/errors";
import { encodeEvent, type FirehoseEvent } from "@bsky/shared/events";
import { partitionOf } from "@bsky/shared/keys";
import type { Logger } from "@bsky/shared/log";
import type { FirehoseMetrics } from "./metrics.ts";
import {
  countEvent,
  emptyCounts,
  isEmptyCounts,
  mergeCounts,
  type NetworkCounts,
} from "./network_counts.ts";
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
  /** Per partition, chunks of newline-separated event JSON not yet written. */
  #chunks: string[][];
  /** Network counters of the events in #chunks, written with them. */
  counts: NetworkCounts = emptyCounts();
  /** Events in #chunks. */
  pending = 0;
  /** Last seq processed (its events are pending or written). */
  seq: number | undefined;
  /** Last seq written with its events. */
  durable: number | undefined;
  #flushing: Promise<void> | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    readonly publisher: Publisher,
    readonly metrics: FirehoseMetrics,
    readonly log: Logger,
    readonly batchSize: number,
    readonly signal: AbortSignal,
    /** Called when the stored cursor moved under us and seq was reset to it. */
    readonly onConflict: () => void,
    /** Called when a write was refused because consumers are too far behind. */
    readonly onFull: () => void = () => {},
  ) {
    this.#chunks = this.#empty();
  }

  #empty(): string[][] {
    return Array.from({ length: this.publisher.options.partitions }, () => []);
  }

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

  /** Adds encoded events: one chunk per partition, as the frame processor makes them. */
  addChunks(chunks: readonly string[], count: number, counts?: NetworkCounts): void {
    for (let p = 0; p < chunks.length; p++) if (chunks[p]) this.#chunks[p].push(chunks[p]);
    this.pending += count;
    // The processor's counts are its own to give: the first ones are taken as they are.
    if (counts) {
      isEmptyCounts(this.counts) ? this.counts = counts : mergeCounts(this.counts, counts);
    }
  }

  /** Adds one event (the verified path, which has event objects). */
  addEvent(e: FirehoseEvent): void {
    this.#chunks[partitionOf(e.did, this.#chunks.length)].push(encodeEvent(e));
    this.pending++;
    countEvent(this.counts, e);
    this.metrics.countEvents(e.kind === "commit" ? `commit ${e.collection}` : `${e.kind} `, 1);
    this.metrics.lag.set(undefined, (Date.now() - e.time) / 1000);
  }

  /** Records that everything up to `seq` is processed. */
  advance(seq: number): void {
    this.seq = seq;
    this.metrics.seq.set(undefined, seq);
    if (this.pending >= this.batchSize) this.flushSoon();
  }

  /** True when something processed is not written yet (seq is unset after a cursor reset). */
  #behind(): boolean {
    return this.seq !== undefined && (this.seq !== this.durable || this.pending > 0);
  }

  /** Starts a write unless one is in flight or there is nothing to write. */
  flushSoon(): void {
    if (this.#flushing || !this.#behind()) return;
    this.#flushing = this.#flush().finally(() => {
      this.#flushing = undefined;
      if (this.pending >= this.batchSize) this.flushSoon();
    });
  }

  async #flush(): Promise<void> {
    const to = this.seq;
    if (to === undefined) return;
    const chunks = this.#chunks;
    const count = this.pending;
    const counts = this.counts;
    this.#chunks = this.#empty();
    this.pending = 0;
    this.counts = emptyCounts();
    const started = performance.now();
    try {
      const result = await this.publisher.publish(chunks, this.durable, to, counts);
      this.metrics.batch.observe((performance.now() - started) / 1000);
      if (result.status === "full") {
        // Nothing was written: keep the batch, and let the subscription pause for consumers.
        this.#chunks = chunks.map((c, p) => c.concat(this.#chunks[p]));
        this.pending += count;
        mergeCounts(counts, this.counts);
        this.counts = counts;
        this.onFull();
        await sleep(200, this.signal);
      } else if (result.status === "conflict") {
        this.metrics.publishConflicts.inc();
        this.log.error("Stored cursor moved under this process; resuming from it", {
          expected: this.durable ?? null,
          stored: result.current ?? null,
        });
        // What is stored is consistent with the streams; trust it over memory. Events
        // processed meanwhile are dropped too: they will come again from the stored cursor.
        this.#chunks = this.#empty();
        this.pending = 0;
        this.counts = emptyCounts();
        this.durable = this.seq = result.current ?? this.durable;
        this.onConflict();
      } else {
        this.durable = to;
      }
      this.metrics.cursor.set(undefined, this.durable ?? 0);
    } catch (err) {
      // Put the batch back in front: order per author must survive a failed write.
      this.#chunks = chunks.map((c, p) => c.concat(this.#chunks[p]));
      this.pending += count;
      mergeCounts(counts, this.counts);
      this.counts = counts;
      this.log.error("Cannot write a batch to Redis", { err: errorMessage(err), events: count });
      await sleep(500, this.signal);
    } finally {
      this.metrics.pending.set(undefined, this.pending);
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
      if (this.signal.aborted && this.#behind() && this.pending > 0) {
        this.log.error("Stopping with events not written; they will be read again", {
          events: this.pending,
          cursor: this.durable ?? null,
        });
        break;
      }
    }
  }
}
