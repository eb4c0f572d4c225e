/**
 * Turns a run of upstream messages into what the batcher writes: each partition's events
 * as newline-separated JSON, with counts for the metrics. Pure and synchronous, so it runs
 * the same on the main thread or in the decode worker.
 */
import { encodeEvent, type FirehoseEvent } from "@bsky/shared/events";
import { partitionOf } from "@bsky/shared/keys";
import { decodeFrame, type Frame } from "./frame.ts";
import { normalizeJetstream } from "./jetstream.ts";
import {
  countCreated,
  countEvent,
  countIgnored,
  emptyCounts,
  type NetworkCounts,
} from "./network_counts.ts";
import { type Limits, type NormalizeStats, parseTime } from "./normalize.ts";
import { normalizeDecodedFrame } from "./relay.ts";

/** An #info or error frame, passed on in order for logging and reconnection decisions. */
export interface Notice {
  kind: "info" | "error";
  name: string;
  message?: string;
}

export interface ProcessResult {
  /** Seq (or Jetstream cursor) of the last message processed; undefined when none was new. */
  seq: number | undefined;
  /** Per partition, the new events' JSON lines joined with "\n" ("" when none). */
  chunks: string[];
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

const textDecoder = new TextDecoder();

export class FrameProcessor {
  /** Last seq processed; messages at or below it are replays and are skipped. */
  lastSeq: number | undefined;

  constructor(
    readonly source: "relay" | "jetstream",
    readonly limits: Limits,
    readonly partitions: number,
  ) {}

  process(messages: readonly (ArrayBuffer | string)[]): ProcessResult {
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
    // The message being normalized, so that an op of a dropped collection is counted too.
    let author: string | undefined, rawTime: string | number | undefined;
    const counts = result.counts;
    const stats: NormalizeStats = {
      drop: (reason) => void (result.dropped[reason] = (result.dropped[reason] ?? 0) + 1),
      ignore: (collection) => {
        result.ignored++;
        if (author === undefined) return;
        const time = typeof rawTime === "number" ? rawTime : parseTime(rawTime);
        if (time !== undefined) countIgnored(counts, collection, rawTime = time, author);
      },
    };
    const countFrame = (type: string) => result.frames[type] = (result.frames[type] ?? 0) + 1;
    const lines: string[][] = Array.from({ length: this.partitions }, () => []);
    const out: FirehoseEvent[] = [];
    for (const message of messages) {
      out.length = 0;
      let seq: number | undefined;
      if (this.source === "jetstream") {
        const text = typeof message === "string" ? message : textDecoder.decode(message);
        result.bytes += text.length;
        countFrame("json");
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          stats.drop("bad_frame");
          continue;
        }
        const m = parsed as { kind?: unknown; did?: unknown; time_us?: unknown };
        const commit = m?.kind === "commit" && typeof m.time_us === "number";
        author = commit && typeof m.did === "string" ? m.did : undefined;
        rawTime = commit ? Math.floor(m.time_us as number / 1000) : undefined;
        seq = normalizeJetstream(parsed, out, stats, this.limits, text.length);
        if (seq === undefined) continue;
        if (this.lastSeq !== undefined && seq <= this.lastSeq) continue;
      } else {
        if (typeof message === "string") {
          countFrame("text");
          stats.drop("bad_frame");
          continue;
        }
        const bytes = new Uint8Array(message);
        result.bytes += bytes.length;
        let frame: Frame;
        try {
          frame = decodeFrame(bytes);
        } catch {
          countFrame("malformed");
          stats.drop("bad_frame");
          continue;
        }
        countFrame(frame.type === "other" ? frame.t.slice(0, 32) : frame.type);
        if (frame.type === "#info" || frame.type === "error") {
          const outcome = normalizeDecodedFrame(frame, out, stats, this.limits);
          if (outcome.kind === "info") {
            result.notices.push({ kind: "info", name: outcome.name, message: outcome.message });
          } else if (outcome.kind === "error") {
            result.notices.push({ kind: "error", name: outcome.error, message: outcome.message });
          }
          continue;
        }
        const frameSeq = frame.body.seq;
        if (frameSeq !== undefined && this.lastSeq !== undefined && frameSeq <= this.lastSeq) {
          continue;
        }
        if (frame.type === "#commit") {
          author = frame.body.repo;
          rawTime = frame.body.time;
        } else author = rawTime = undefined;
        const outcome = normalizeDecodedFrame(frame, out, stats, this.limits);
        if (outcome.kind !== "events" || outcome.seq < 0) continue;
        if (frame.type === "#commit" && frame.body.since === null) {
          // A repository's first commit: a new account.
          const time = typeof rawTime === "number" ? rawTime : parseTime(rawTime);
          if (time !== undefined) countCreated(counts, time);
        }
        seq = outcome.seq;
      }
      this.lastSeq = result.seq = seq;
      for (const e of out) {
        lines[partitionOf(e.did, this.partitions)].push(encodeEvent(e));
        const label = e.kind === "commit" ? `commit ${e.collection}` : `${e.kind} `;
        result.events[label] = (result.events[label] ?? 0) + 1;
        countEvent(counts, e);
        result.lastTime = e.time;
      }
      result.count += out.length;
    }
    result.chunks = lines.map((l) => l.join("\n"));
    return result;
  }
}
