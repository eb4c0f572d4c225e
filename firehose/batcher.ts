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
 * On Redis Cluster, where each partition is written in its own slot, the network counters
 * of each batch written go after it, in batch order, one call at a time, so that their
 * cursor never passes the partitions' (a restart resumes from the smallest cursor, and
 * counts nothing twice).
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
  /** Events of the batches being taken back, until they are pending again (or dropped). */
  #takenBack = 0;
  /** On Cluster: counters of batches written, not yet sent (merged, in order). */
  #counts: { to: number; counts: NetworkCounts } | undefined;
  /** On Cluster: set while counters are being written. */
  #counting: Promise<void> | undefined;
  /** On Cluster: the counters' cursor as last stored. */
  #countedTo: number | undefined;
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

  /** Loads where to resume: the smallest stored cursor (see Publisher.loadCursor()). */
  async load(): Promise<number | undefined> {
    this.durable = this.seq = this.#sentTo = await this.publisher.loadCursor();
    this.#countedTo = this.publisher.countedCursor;
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
    if (this.pending >= this.batchSize) this.flushSoon();
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
    for (const b of kept.reverse()) {
      this.#chunks = b.chunks.map((c, p) => c.concat(this.#chunks[p]));
      this.pending += b.count;
      mergeCounts(b.counts, this.counts);
      this.counts = b.counts;
    }
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
    await this.#counting;
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
    this.#chunks = this.#empty();
    this.pending = 0;
    this.#takenBack = 0;
    this.counts = emptyCounts();
    this.#counts = undefined;
    this.#countedTo = this.publisher.countedCursor;
    this.durable = this.seq = this.#sentTo = stored;
    this.metrics.cursor.set(undefined, this.durable ?? 0);
    this.onConflict();
    return true;
  }

  /** On Cluster: queues a written batch's counters behind those of the batches before it. */
  #count(batch: InFlight): void {
    if (!this.publisher.perPartition) return;
    // Counted before a restart (the counters' cursor is past it): not again.
    if (this.#countedTo !== undefined && batch.to <= this.#countedTo) return;
    if (this.#counts) {
      mergeCounts(this.#counts.counts, batch.counts);
      this.#counts.to = batch.to;
    } else {
      this.#counts = { to: batch.to, counts: batch.counts };
    }
    this.#counting ??= this.#writeCounts().finally(() => this.#counting = undefined);
  }

  /** Puts counters that were not written back in front of those queued meanwhile. */
  #requeue(to: number, counts: NetworkCounts): void {
    const later = this.#counts as { to: number; counts: NetworkCounts } | undefined;
    if (later) mergeCounts(counts, later.counts);
    this.#counts = { to: later?.to ?? to, counts };
  }

  /** Writes the queued counters, one call at a time, until none are left. */
  async #writeCounts(): Promise<void> {
    while (this.#counts) {
      const { to, counts } = this.#counts;
      this.#counts = undefined;
      let result: PublishResult | undefined;
      try {
        result = await this.publisher.publishCounts(counts, this.#countedTo, to);
      } catch (err) {
        this.#requeue(to, counts);
        this.log.error("Cannot write the network counters to Redis", { err: errorMessage(err) });
        if (this.signal.aborted) return;
        await sleep(500, this.signal);
        continue;
      }
      if (result.status === "conflict") {
        // Only another writer or lost data moves it: count on top of what is stored.
        this.metrics.publishConflicts.inc();
        this.log.error("The network counters' cursor moved under this process", {
          expected: this.#countedTo ?? null,
          stored: result.current ?? null,
        });
        this.#countedTo = result.current;
        if (result.current === undefined || result.current < to) this.#requeue(to, counts);
        continue;
      }
      this.#countedTo = to;
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
    // On Cluster: the counters of what was written (given up after a failure when stopping:
    // the counters' cursor then makes the next start read those events again).
    while (this.#counting) await this.#counting;
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
