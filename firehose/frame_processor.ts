/**
 * Turns a run of upstream messages into what the batcher writes: each partition's events
 * as newline-separated JSON, with counts for the metrics. Each source reads its own
 * messages (sources/relay.ts, sources/jetstream.ts); this adds up what they return. Pure
 * and synchronous, so it runs the same on the main thread or in the decode worker.
 */
import { encodeEvent } from "@bsky/shared/events";
import { type Chunk, encodeChunk } from "./chunk.ts";
import { partitionOf } from "@bsky/shared/keys";
import { eventLabel } from "./metrics.ts";
import {
  countCreated,
  countEvent,
  countIgnored,
  emptyCounts,
  type NetworkCounts,
} from "./network_counts.ts";
import type { Limits } from "./normalize.ts";
import { readJetstream } from "./sources/jetstream.ts";
import type { Notice, ReadMessage } from "./sources/message.ts";
import { readRelay } from "./sources/relay.ts";

export type { Notice } from "./sources/message.ts";

export interface ProcessResult {
  /** Seq (or Jetstream cursor) of the last message processed; undefined when none was new. */
  seq: number | undefined;
  /** Per partition, the new events' JSON lines as one chunk (empty when none). */
  chunks: Chunk[];
  count: number;
  /** Events by "kind collection". */
  events: Record<string, number>;
  dropped: Record<string, number>;
  ignored: number;
  frames: Record<string, number>;
  bytes: number;
  /** Network counters of these messages (kept events, dropped collections, new accounts). */
  counts: NetworkCounts;
  /** Event time of the last event, for the lag. */
  lastTime: number | undefined;
  notices: Notice[];
}

const READERS: Record<"relay" | "jetstream", ReadMessage> = {
  relay: readRelay,
  jetstream: readJetstream,
};

const inc = (counts: Record<string, number>, key: string) => counts[key] = (counts[key] ?? 0) + 1;

export class FrameProcessor {
  /** Last seq processed; messages at or below it are replays and are skipped. */
  lastSeq: number | undefined;
  readonly #read: ReadMessage;

  constructor(
    readonly source: "relay" | "jetstream",
    readonly limits: Limits,
    readonly partitions: number,
  ) {
    this.#read = READERS[source];
  }

  process(messages: readonly (Uint8Array | string)[]): ProcessResult {
    const result: ProcessResult = {
      seq: undefined,
      chunks: [],
      count: 0,
      events: {},
      dropped: {},
      ignored: 0,
      frames: {},
      bytes: 0,
      lastTime: undefined,
      notices: [],
      counts: emptyCounts(),
    };
    const counts = result.counts;
    const lines: string[][] = Array.from({ length: this.partitions }, () => []);
    for (const message of messages) {
      const m = this.#read(message, this.limits, this.lastSeq);
      result.bytes += m.bytes;
      inc(result.frames, m.frame);
      for (const reason of m.dropped) inc(result.dropped, reason);
      result.ignored += m.ignored.length;
      if (m.notice) result.notices.push(m.notice);
      if (m.repo !== undefined && m.time !== undefined) {
        // The author of an op of a dropped collection is active too.
        for (const collection of m.ignored) countIgnored(counts, collection, m.time, m.repo);
        if (m.created) countCreated(counts, m.time);
      }
      if (m.seq === undefined) continue;
      this.lastSeq = result.seq = m.seq;
      for (const e of m.events) {
        lines[partitionOf(e.did, this.partitions)].push(encodeEvent(e));
        inc(result.events, eventLabel(e));
        countEvent(counts, e);
        result.lastTime = e.time;
      }
      result.count += m.events.length;
    }
    result.chunks = lines.map(encodeChunk);
    return result;
  }
}
