/**
 * The decode worker: frames in, encoded events out, in order. Decoding and normalizing
 * are most of the firehose's CPU; here they leave the main thread to the socket and Redis.
 */
/// <reference lib="deno.worker" />
import { FrameProcessor } from "./frame_processor.ts";
import type { Limits } from "./normalize.ts";

export type WorkerRequest =
  | { type: "init"; source: "relay" | "jetstream"; limits: Limits; partitions: number }
  | { type: "reset"; seq: number | undefined }
  | { type: "watch"; dids: string[] }
  | { type: "frames"; id: number; frames: (Uint8Array | string)[] };

let processor: FrameProcessor | undefined;

self.onmessage = (e: MessageEvent<WorkerRequest>) => {
  const m = e.data;
  switch (m.type) {
    case "init":
      processor = new FrameProcessor(m.source, m.limits, m.partitions);
      break;
    case "reset":
      processor!.lastSeq = m.seq;
      break;
    case "watch":
      processor!.limits.watch = new Set(m.dids);
      break;
    case "frames": {
      // The chunks' bytes move to the main thread rather than being copied. Each chunk has
      // a buffer of its own (TextEncoder makes a new one every time), whole.
      const result = processor!.process(m.frames);
      const moved = result.chunks.filter((c) => c.byteLength > 0).map((c) => c.buffer);
      self.postMessage({ id: m.id, result }, moved);
      break;
    }
  }
};
