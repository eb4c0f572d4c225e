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
 *
 * On Redis Cluster the network counters of each batch written go after it (counts_writer.ts).
 */
import { errorMessage } from "@bsky/shared/errors";
import type { FirehoseEvent } from "@bsky/shared/events";
import type { Logger } from "@bsky/shared/log";
import { eventLabel, type FirehoseMetrics } from "./metrics.ts";
import type { NetworkCounts } from "./network_counts.ts";
import { PendingEvents, type Taken } from "./pending_events.ts";
import type { Publisher, PublishResult } from "./publisher.ts";
import { CountsWriter } from "./counts_writer.ts";
import type { Chunk } from "./chunk.ts";
import { sleep } from "./sleep.ts";

export { sleep } from "./sleep.ts";

export class Batcher {
  /** The events processed and not sent yet, by partition, with their counters. */
  #pending: PendingEvents;
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
  /** Events of the batches being taken back, until they are pending again (or dropped). */
  #takenBack = 0;
  /** On Cluster: the counters of the batches written, written after them. */
  #counter: CountsWriter;
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
    this.#pending = new PendingEvents(publisher.options.partitions);
    this.#counter = new CountsWriter(publisher, metrics, log, signal);
  }

  /** Events processed and not sent yet. */
  get pending(): number {
    return this.#pending.count;
  }

  /** Network counters of the events not sent yet (written with them). */
  get counts(): NetworkCounts {
    return this.#pending.counts;
  }

  /** Loads where to resume: the smallest stored cursor (see Publisher.loadCursor()). */
  async load(): Promise<number | undefined> {
    this.durable = this.seq = this.#sentTo = await this.publisher.loadCursor();
    this.#counter.countedTo = this.publisher.countedCursor;
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
  addChunks(chunks: readonly Chunk[], count: number, counts?: NetworkCounts): void {
    this.#pending.addChunks(chunks, count, counts);
  }

  /** Adds one event (the verified path, which has event objects). */
  addEvent(e: FirehoseEvent): void {
    this.#pending.addEvent(e);
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
    return this.pending + this.#takenBack + this.#inFlight.reduce((n, b) => n + b.count, 0);
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
      ...this.#pending.take(),
      from: this.#sentTo,
      to,
      started: performance.now(),
      reply: undefined as unknown as Promise<Reply>,
    };
    this.#sentTo = to;
    // On Cluster the counters go after the batch (#count()).
    const counts = this.publisher.perPartition ? undefined : batch.counts;
    batch.reply = this.publisher.publish(batch.chunks, batch.from, to, counts).then(
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
      this.#count(batch);
      this.durable = batch.to;
      this.metrics.cursor.set(undefined, this.durable ?? 0);
      this.flushSoon();
      return;
    }
    // Refused or failed: every batch behind this one is refused too (its cursor is not
    // there). Wait for their replies, then take back what was not applied.
    this.#recovering = this.#recover(reply).finally(() => this.#takenBack = 0);
    await this.#recovering;
    this.#recovering = undefined;
    this.metrics.pending.set(undefined, this.pending);
    // When stopping, drain() decides whether to try again: a write that keeps failing (a
    // slot stuck mid-migration) must not keep the stop waiting.
    if (this.pending >= this.batchSize && !this.signal.aborted) this.flushSoon();
  }

  async #recover(first: Reply): Promise<void> {
    const batches = this.#inFlight;
    this.#inFlight = [];
    this.#takenBack = batches.reduce((n, b) => n + b.count, 0);
    const replies = [first, ...await Promise.all(batches.slice(1).map((b) => b.reply))];
    // A later batch applied means the ones before it were applied too (a lost reply).
    let done = -1;
    replies.forEach((r, k) => {
      if (r.result?.status === "applied" || r.result?.status === "duplicate") done = k;
    });
    if (done >= 0) {
      for (const b of batches.slice(0, done + 1)) this.#count(b);
      this.durable = batches[done].to;
      this.metrics.cursor.set(undefined, this.durable ?? 0);
    }
    const kept = batches.slice(done + 1);
    this.#takenBack = kept.reduce((n, b) => n + b.count, 0);
    const refusal = replies[done + 1];
    // Every batch landed after all (the first one's reply was lost on the way).
    if (!refusal) return;
    if (refusal.result?.status === "conflict" && await this.#resume(refusal.result.current)) {
      return;
    }
    // Put what was not applied back in front, in order: order per author must survive.
    for (const b of kept.reverse()) this.#pending.putBack(b);
    this.#takenBack = 0;
    this.#sentTo = this.durable;
    if (refusal.result?.status === "full") {
      // Nothing was written: let the subscription pause for consumers.
      this.onFull();
      await sleep(200, this.signal);
    } else {
      this.log.error("Cannot write a batch to Redis", {
        err: refusal.result
          ? `a cursor did not fit (${refusal.result.status})`
          : errorMessage(refusal.err),
        events: kept.reduce((n, b) => n + b.count, 0),
      });
      await sleep(500, this.signal);
    }
  }

  /**
   * A cursor did not fit a batch: reads every cursor again and resumes from the smallest,
   * where each partition gets what it lacks and skips what it holds. What is stored is
   * consistent with the streams; it is trusted over memory. Events processed meanwhile are
   * dropped: they come again from there. False when the cursors cannot be read now (the
   * batches then go back to be sent again).
   */
  async #resume(current: number | undefined): Promise<boolean> {
    // Counters in flight land first, so that their cursor is read as they leave it.
    await this.#counter.writing;
    let stored: number | undefined;
    try {
      stored = await this.publisher.loadCursor();
    } catch (err) {
      this.log.error("Cannot read the stored cursors", { err: errorMessage(err) });
      return false;
    }
    this.metrics.publishConflicts.inc();
    this.log.error("Stored cursor moved under this process; resuming from it", {
      expected: this.durable ?? null,
      found: current ?? null,
      stored: stored ?? null,
    });
    this.#pending.clear();
    this.#takenBack = 0;
    this.#counter.reset(this.publisher.countedCursor);
    this.durable = this.seq = this.#sentTo = stored;
    this.metrics.cursor.set(undefined, this.durable ?? 0);
    this.onConflict();
    return true;
  }

  /** On Cluster: queues a written batch's counters behind those of the batches before it. */
  #count(batch: InFlight): void {
    if (this.publisher.perPartition) this.#counter.queue(batch.to, batch.counts);
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
      // Still behind once every batch sent is answered: a write failed or was refused (a
      // batch of no events too: it carries the cursors).
      if (this.signal.aborted && this.#behind()) {
        this.log.error("Stopping with events not written; they will be read again", {
          events: this.pending,
          cursor: this.durable ?? null,
        });
        break;
      }
    }
    // On Cluster: the counters of what was written (given up after a failure when stopping:
    // the counters' cursor then makes the next start read those events again).
    while (this.#counter.writing) await this.#counter.writing;
  }
}

type Reply = { result?: PublishResult; err?: unknown };

interface InFlight extends Taken {
  from: number | undefined;
  to: number;
  started: number;
  reply: Promise<Reply>;
}
