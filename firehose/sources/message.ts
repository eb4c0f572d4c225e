/**
 * What reading one upstream message gives, whichever the source: its events, and what the
 * metrics and the network counters need to know of it. Each source (relay.ts,
 * jetstream.ts) returns one per message; the frame processor adds them up.
 */
import type { FirehoseEvent } from "@bsky/shared/events";
import type { Limits, NormalizeStats } from "../normalize.ts";

/** An #info or error frame, passed on in order for logging and reconnection decisions. */
export interface Notice {
  kind: "info" | "error";
  name: string;
  message?: string;
}

export interface SourceMessage {
  /** The kept events, in order; always empty when `seq` is undefined. */
  events: FirehoseEvent[];
  /**
   * The seq (relay) or cursor (Jetstream) the message moves the subscription to; undefined
   * when it moves nothing: a replay, a notice, a malformed message.
   */
  seq: number | undefined;
  /** The frames counter's label: the frame type, or "json", "text", "malformed". */
  frame: string;
  /** Its size: bytes of a relay frame, characters of a Jetstream message. */
  bytes: number;
  /** A reason per op or message dropped, in order. */
  dropped: string[];
  /** The collection (or frame type) of each op that is not kept, in order. */
  ignored: string[];
  /** A commit's author and time (ms): the ops in `ignored` and a new account count for them. */
  repo: string | undefined;
  time: number | undefined;
  /** A repository's first commit: a new account. */
  created: boolean;
  /** An #info or error frame. */
  notice: Notice | undefined;
  /** Why a malformed message was dropped whole. */
  error: string | undefined;
}

/** Reads one message of a source; never throws, whatever the message holds. */
export type ReadMessage = (
  message: Uint8Array | string,
  limits: Limits,
  /** The last seq processed: a message at or below it is a replay. */
  after: number | undefined,
) => SourceMessage;

/** An empty reading of a message, with the stats that fill its `dropped` and `ignored`. */
export function newMessage(frame: string, bytes: number): [SourceMessage, NormalizeStats] {
  const m: SourceMessage = {
    events: [],
    seq: undefined,
    frame,
    bytes,
    dropped: [],
    ignored: [],
    repo: undefined,
    time: undefined,
    created: false,
    notice: undefined,
    error: undefined,
  };
  return [m, { drop: (r) => void m.dropped.push(r), ignore: (c) => void m.ignored.push(c) }];
}

/** A message dropped whole (reason "bad_frame"), with what was wrong with it. */
export function badMessage(frame: string, bytes: number, error: string): SourceMessage {
  const [m] = newMessage(frame, bytes);
  m.dropped.push("bad_frame");
  m.error = error;
  return m;
}
