/**
 * On Redis Cluster, where each partition is written in its own slot, the network counters
 * of the batches written go after them (Publisher.publishCounts()), in batch order, one
 * call at a time, so that their cursor never passes the partitions' (a restart resumes from
 * the smallest cursor, and counts nothing twice). Counters queued while a call is out are
 * merged and go in the next one.
 */
import { errorMessage } from "@bsky/shared/errors";
import type { Logger } from "@bsky/shared/log";
import type { FirehoseMetrics } from "./metrics.ts";
import { mergeCounts, type NetworkCounts } from "./network_counts.ts";
import type { Publisher, PublishResult } from "./publisher.ts";
import { sleep } from "./sleep.ts";

export class CountsWriter {
  /** Counters of batches written, not yet sent (merged, in order). */
  #queued: { to: number; counts: NetworkCounts } | undefined;
  /** Set while counters are being written. */
  #writing: Promise<void> | undefined;
  /** The counters' cursor as last stored. */
  countedTo: number | undefined;

  constructor(
    readonly publisher: Publisher,
    readonly metrics: FirehoseMetrics,
    readonly log: Logger,
    readonly signal: AbortSignal,
  ) {}

  /** Set while counters are being written; resolves when none are left to write. */
  get writing(): Promise<void> | undefined {
    return this.#writing;
  }

  /** Drops what is queued and takes the counters' cursor as stored now. */
  reset(countedTo: number | undefined): void {
    this.#queued = undefined;
    this.countedTo = countedTo;
  }

  /** Queues a written batch's counters (up to `to`) behind those of the batches before it. */
  queue(to: number, counts: NetworkCounts): void {
    // Counted before a restart (the counters' cursor is past it): not again.
    if (this.countedTo !== undefined && to <= this.countedTo) return;
    if (this.#queued) {
      mergeCounts(this.#queued.counts, counts);
      this.#queued.to = to;
    } else {
      this.#queued = { to, counts };
    }
    this.#writing ??= this.#write().finally(() => this.#writing = undefined);
  }

  /** Puts counters that were not written back in front of those queued meanwhile. */
  #requeue(to: number, counts: NetworkCounts): void {
    const later = this.#queued as { to: number; counts: NetworkCounts } | undefined;
    if (later) mergeCounts(counts, later.counts);
    this.#queued = { to: later?.to ?? to, counts };
  }

  /** Writes the queued counters, one call at a time, until none are left. */
  async #write(): Promise<void> {
    while (this.#queued) {
      const { to, counts } = this.#queued;
      this.#queued = undefined;
      let result: PublishResult | undefined;
      try {
        result = await this.publisher.publishCounts(counts, this.countedTo, to);
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
          expected: this.countedTo ?? null,
          stored: result.current ?? null,
        });
        this.countedTo = result.current;
        if (result.current === undefined || result.current < to) this.#requeue(to, counts);
        continue;
      }
      this.countedTo = to;
    }
  }
}
