/**
 * The events processed and not sent yet (batcher.ts): per partition, chunks of
 * newline-separated event JSON in seq order, with the network counters of those events.
 */
import { encodeEvent, type FirehoseEvent } from "@bsky/shared/events";
import { partitionOf } from "@bsky/shared/keys";
import { type Chunk, encodeChunk } from "./chunk.ts";
import {
  countEvent,
  emptyCounts,
  isEmptyCounts,
  mergeCounts,
  type NetworkCounts,
} from "./network_counts.ts";

/** What a batch sends: the events taken, by partition, and their counters. */
export interface Taken {
  chunks: Chunk[][];
  count: number;
  counts: NetworkCounts;
}

export class PendingEvents implements Taken {
  /** Per partition, chunks of newline-separated event JSON. */
  chunks: Chunk[][];
  /** Network counters of the events in chunks, written with them. */
  counts: NetworkCounts = emptyCounts();
  /** Events in chunks. */
  count = 0;

  constructor(readonly partitions: number) {
    this.chunks = this.#empty();
  }

  #empty(): Chunk[][] {
    return Array.from({ length: this.partitions }, () => []);
  }

  /** Adds encoded events: one chunk per partition, as the frame processor makes them. */
  addChunks(chunks: readonly Chunk[], count: number, counts?: NetworkCounts): void {
    for (let p = 0; p < chunks.length; p++) if (chunks[p].length) this.chunks[p].push(chunks[p]);
    this.count += count;
    // The processor's counts are its own to give: the first ones are taken as they are.
    if (counts) {
      isEmptyCounts(this.counts) ? this.counts = counts : mergeCounts(this.counts, counts);
    }
  }

  /** Adds one event. */
  addEvent(e: FirehoseEvent): void {
    this.chunks[partitionOf(e.did, this.chunks.length)].push(encodeChunk([encodeEvent(e)]));
    this.count++;
    countEvent(this.counts, e);
  }

  /** Takes every event held, leaving none. */
  take(): Taken {
    const taken = { chunks: this.chunks, count: this.count, counts: this.counts };
    this.clear();
    return taken;
  }

  /** Drops every event held. */
  clear(): void {
    this.chunks = this.#empty();
    this.count = 0;
    this.counts = emptyCounts();
  }

  /**
   * Puts events taken and not applied back in front of those held, so that order per author
   * survives: with several batches, the newest goes back first.
   */
  putBack(b: Taken): void {
    this.chunks = b.chunks.map((c, p) => c.concat(this.chunks[p]));
    this.count += b.count;
    mergeCounts(b.counts, this.counts);
    this.counts = b.counts;
  }
}
