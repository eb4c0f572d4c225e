/**
 * The benchmark's workload: a capture looped until it holds at least the wanted number of
 * events, and the one definition of "event" every consumer is measured with.
 */
import { decode, decodeFirst, fromBytes } from "@atcute/cbor";
import { fromUint8Array } from "@atcute/car";
import { decodeFrame } from "../frame.ts";

/** The replay server's default base: the first replayed frame has seq 2^32 + 1. */
export const BASE_SEQ = 2 ** 32;

/** The real local PDS capture, when it has been recorded. */
export const PDS_CAPTURE = new URL("./pds_capture.bin.gz", import.meta.url);
/** The real relay corpus (150 frames). */
export const RELAY_CORPUS = new URL(
  "../../testdata/relay-2026-07-04/frames.bin",
  import.meta.url,
);

export interface Workload {
  /** Events of one pass over the capture. */
  eventsPerLoop: number;
  /** Passes over the capture, as given to the replay server's --loops. */
  loops: number;
  frames: number;
  events: number;
  /** Seq of the workload's last frame. */
  lastSeq: number;
  /** Events of each capture frame. */
  eventsOfFrame: number[];
  /** Capture frames by type, for the printout. */
  types: Record<string, number>;
}

/**
 * Decodes one frame the way a fast consumer must: the frame, the blocks of every op
 * that has a CID, and each of those records. Returns the frame's events: the ops of a
 * #commit, 1 for an #identity or #account, 0 otherwise.
 */
function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function decodeWork(bytes: Uint8Array): number {
  // Only the libraries' own primitives: this is the baseline a plain fast consumer pays.
  const [header, rest] = decodeFirst(bytes) as [{ t?: string }, Uint8Array];
  const body = decode(rest) as Record<string, unknown>;
  switch (header.t) {
    case "#commit": {
      const ops = body.ops as { action: string; cid: { bytes: Uint8Array } | null }[];
      const wanted = ops.filter((op) => op.action !== "delete" && op.cid);
      if (wanted.length > 0 && body.blocks) {
        for (const entry of fromUint8Array(fromBytes(body.blocks as never))) {
          for (const op of wanted) {
            if (equalBytes(entry.cid.bytes, op.cid!.bytes)) decode(entry.bytes);
          }
        }
      }
      return ops.length;
    }
    case "#identity":
    case "#account":
      return 1;
    default:
      return 0;
  }
}

/** The capture looped to at least `minEvents` events. */
export function planWorkload(frames: Uint8Array[], minEvents: number): Workload {
  const types: Record<string, number> = {};
  const eventsOfFrame = frames.map((bytes) => {
    const frame = decodeFrame(bytes);
    const type = frame.type === "other" ? frame.t : frame.type;
    types[type] = (types[type] ?? 0) + 1;
    return decodeWork(bytes);
  });
  const eventsPerLoop = eventsOfFrame.reduce((a, b) => a + b, 0);
  if (eventsPerLoop === 0) {
    throw new RangeError("Cannot plan a workload: the capture has no events");
  }
  const loops = Math.max(1, Math.ceil(minEvents / eventsPerLoop));
  return {
    eventsPerLoop,
    loops,
    frames: loops * frames.length,
    events: loops * eventsPerLoop,
    lastSeq: BASE_SEQ + loops * frames.length,
    eventsOfFrame,
    types,
  };
}

/** The capture given, else the PDS capture if recorded, else the relay corpus. */
export async function defaultCapture(given: string | undefined): Promise<string> {
  if (given) return given;
  try {
    const info = await Deno.stat(PDS_CAPTURE);
    if (info.isFile && info.size > 0) return PDS_CAPTURE.pathname;
  } catch { /* not recorded (yet) */ }
  return RELAY_CORPUS.pathname;
}
