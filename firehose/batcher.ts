/**
 * Holds the events processed since the last write, already encoded and split by
 * partition, and writes them with their cursor. Both subscriptions (fast and verified)
 * share it.
 *
 * Writes are pipelined: up to `maxInFlight` batches are sent without waiting for the one
 * before, each built on the cursor the one before will leave. Redis runs them in the order
 * sent, and the publish script applies a batch only on top of the cursor it was built
 * from, so a batch behind one that was refused (full, a conflict) or lost is refused too
 * and nothing lands out of order. Replies are taken in order: the cursor moves with each
 * batch applied, and whatever was not applied goes back in front of the pending events,
 * in order, to be sent again from the durable cursor.
 */
import { errorMessage } from "@bsky/shared/errors";
import { encodeEvent, type FirehoseEvent } from "@bsky/shared/events";
import { partitionOf } from "@bsky/shared/keys";
import type { Logger } from "@bsky/shared/log";
import { eventLabel, type FirehoseMetrics } from "./metrics.ts";
import {
  countEvent,
  emptyCounts,
  isEmptyCounts,
  mergeCounts,
  type NetworkCounts,
} from "./network_counts.ts";
import type { Publisher, PublishResult } from "./publisher.ts";

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
  /** Batches sent and not answered yet, oldest first. */
  #inFlight: InFlight[] = [];
  /** The seq the newest batch sent leaves the cursor at (the next one is built on it). */
  #sentTo: number | undefined;
  /** Replies are handled one at a time, in the order the batches were sent. */
  #replies: Promise<void> = Promise.resolve();
  /** Set while the batches in flight are being taken back after a refusal or a failure. */
  #recovering: Promise<void> | undefined;
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
    /** Batches sent before the first is answered (1: one at a time). */
    readonly maxInFlight = 4,
  ) {
    this.#chunks = this.#empty();
  }

  #empty(): string[][] {
    return Array.from({ length: this.publisher.options.partitions }, () => []);
  }

  async load(): Promise<number | undefined> {
    this.durable = this.seq = this.#sentTo = await this.publisher.loadCursor();
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
    this.metrics.countEvents(eventLabel(e), 1);
    this.metrics.lag.set(undefined, (Date.now() - e.time) / 1000);
  }

  /** Records that everything up to `seq` is processed. */
  advance(seq: number): void {
    this.seq = seq;
    this.metrics.seq.set(undefined, seq);
    if (this.pending >= this.batchSize) this.flushSoon();
  }

  /** Events processed and not yet durable: pending, or in a batch in flight. */
  get unwritten(): number {
    return this.pending + this.#inFlight.reduce((n, b) => n + b.count, 0);
  }

  /** True when something processed is not sent yet (seq is unset after a cursor reset). */
  #behind(): boolean {
    return this.seq !== undefined && (this.seq !== this.#sentTo || this.pending > 0);
  }

  /** Sends a batch unless the pipeline is full, is being recovered, or nothing is left. */
  flushSoon(): void {
    while (!this.#recovering && this.#inFlight.length < this.maxInFlight && this.#behind()) {
      this.#send();
      // More than a batch's worth pending: send the next one too, without waiting.
      if (this.pending < this.batchSize) break;
    }
  }

  #send(): void {
    const to = this.seq!;
    const batch: InFlight = {
      chunks: this.#chunks,
      count: this.pending,
      counts: this.counts,
      from: this.#sentTo,
      to,
      started: performance.now(),
      reply: undefined as unknown as Promise<Reply>,
    };
    this.#chunks = this.#empty();
    this.pending = 0;
    this.counts = emptyCounts();
    this.#sentTo = to;
    batch.reply = this.publisher.publish(batch.chunks, batch.from, to, batch.counts).then(
      (result) => ({ result }),
      (err) => ({ err }),
    );
    this.#inFlight.push(batch);
    this.metrics.pending.set(undefined, this.pending);
    this.#replies = this.#replies.then(() => this.#answer(batch));
  }

  /** Takes the reply of the oldest batch in flight (`batch`). */
  async #answer(batch: InFlight): Promise<void> {
    const reply = await batch.reply;
    if (this.#inFlight[0] !== batch) return; // taken back by a recovery meanwhile
    const result = reply.result;
    if (result && (result.status === "applied" || result.status === "duplicate")) {
      this.#inFlight.shift();
      this.metrics.batch.observe((performance.now() - batch.started) / 1000);
      this.durable = batch.to;
      this.metrics.cursor.set(undefined, this.durable ?? 0);
      this.flushSoon();
      return;
    }
    // Refused or failed: every batch behind this one is refused too (its cursor is not
    // there). Wait for their replies, then take back what was not applied.
    this.#recovering = this.#recover(reply);
    await this.#recovering;
    this.#recovering = undefined;
    this.metrics.pending.set(undefined, this.pending);
    if (this.pending >= this.batchSize) this.flushSoon();
  }

  async #recover(first: Reply): Promise<void> {
    const batches = this.#inFlight;
    this.#inFlight = [];
    const replies = [first, ...await Promise.all(batches.slice(1).map((b) => b.reply))];
    // A later batch applied means the ones before it were applied too (a lost reply).
    let done = -1;
    replies.forEach((r, k) => {
      if (r.result?.status === "applied" || r.result?.status === "duplicate") done = k;
    });
    if (done >= 0) {
      this.durable = batches[done].to;
      this.metrics.cursor.set(undefined, this.durable ?? 0);
    }
    const kept = batches.slice(done + 1);
    const refusal = replies[done + 1];
    if (refusal.result?.status === "conflict") {
      this.metrics.publishConflicts.inc();
      this.log.error("Stored cursor moved under this process; resuming from it", {
        expected: this.durable ?? null,
        stored: refusal.result.current ?? null,
      });
      // What is stored is consistent with the streams; trust it over memory. Events
      // processed meanwhile are dropped too: they will come again from the stored cursor.
      this.#chunks = this.#empty();
      this.pending = 0;
      this.counts = emptyCounts();
      this.durable = this.seq = this.#sentTo = refusal.result.current ?? this.durable;
      this.metrics.cursor.set(undefined, this.durable ?? 0);
      this.onConflict();
      return;
    }
    // Put what was not applied back in front, in order: order per author must survive.
    for (const b of kept.reverse()) {
      this.#chunks = b.chunks.map((c, p) => c.concat(this.#chunks[p]));
      this.pending += b.count;
      mergeCounts(b.counts, this.counts);
      this.counts = b.counts;
    }
    this.#sentTo = this.durable;
    if (refusal.result?.status === "full") {
      // Nothing was written: let the subscription pause for consumers.
      this.onFull();
      await sleep(200, this.signal);
    } else {
      this.log.error("Cannot write a batch to Redis", {
        err: errorMessage(refusal.err),
        events: kept.reduce((n, b) => n + b.count, 0),
      });
      await sleep(500, this.signal);
    }
  }

  /** Resolves when every batch sent so far is answered (and recovered, if need be). */
  async settle(): Promise<void> {
    while (this.#inFlight.length > 0 || this.#recovering) {
      await this.#replies;
      await this.#recovering;
    }
  }

  /**
   * Writes everything processed so far, waiting for Redis as long as it takes; when
   * stopping, gives up after a failed write (the durable cursor still covers the rest).
   */
  async drain(): Promise<void> {
    while (this.#inFlight.length > 0 || this.#recovering || this.#behind()) {
      this.flushSoon();
      await this.settle();
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

type Reply = { result?: PublishResult; err?: unknown };

interface InFlight {
  chunks: string[][];
  count: number;
  counts: NetworkCounts;
  from: number | undefined;
  to: number;
  started: number;
  reply: Promise<Reply>;
}
