/** How the subscription hands its frames to the frame processor (frame_processor.ts). */
import type { WorkerRequest } from "./decode_worker.ts";
import { FrameProcessor, type ProcessResult } from "./frame_processor.ts";
import type { Limits } from "./normalize.ts";

export interface PipelineOptions {
  source: "relay" | "jetstream";
  limits: Limits;
  /** Decode in a worker thread instead of on the main thread. */
  worker?: boolean;
}

/**
 * Runs the frame processor on this thread, or in the decode worker so that decoding runs
 * beside the socket and Redis work; results come back in order either way.
 */
export class Pipeline {
  #worker: Worker | undefined;
  #inline: FrameProcessor | undefined;
  #nextId = 0;
  #waiting = new Map<number, (r: ProcessResult) => void>();
  /** Messages sent and not yet answered. */
  inFlight = 0;
  #idle: (() => void)[] = [];

  constructor(options: PipelineOptions, partitions: number) {
    if (!options.worker) {
      this.#inline = new FrameProcessor(options.source, options.limits, partitions);
      return;
    }
    this.#worker = new Worker(new URL("./decode_worker.ts", import.meta.url), { type: "module" });
    this.#worker.onmessage = (e: MessageEvent<{ id: number; result: ProcessResult }>) => {
      const resolve = this.#waiting.get(e.data.id)!;
      this.#waiting.delete(e.data.id);
      resolve(e.data.result);
    };
    this.#post({ type: "init", source: options.source, limits: options.limits, partitions });
  }

  #post(m: WorkerRequest, transfer: Transferable[] = []): void {
    this.#worker!.postMessage(m, transfer);
  }

  /** Replaces the watched accounts (Limits.watch) of the worker; inline shares the Limits. */
  watch(dids: readonly string[]): void {
    if (this.#worker) this.#post({ type: "watch", dids: [...dids] });
  }

  /** Sets the seq at and below which messages are replays. */
  reset(seq: number | undefined): void {
    if (this.#inline) this.#inline.lastSeq = seq;
    else this.#post({ type: "reset", seq });
  }

  /** Frames may be views of a larger buffer (socket.ts); they are not changed. */
  async process(frames: (Uint8Array | string)[]): Promise<ProcessResult> {
    this.inFlight += frames.length;
    try {
      if (this.#inline) return this.#inline.process(frames);
      const id = this.#nextId++;
      const result = new Promise<ProcessResult>((r) => this.#waiting.set(id, r));
      // Each frame moves to the worker in a buffer of its own: a view shares the socket's.
      // (A copy: a Buffer's slice() would be another view of the same bytes.)
      const own = frames.map((f) => typeof f === "string" ? f : new Uint8Array(f));
      const transfer = own.flatMap((f) => typeof f === "string" ? [] : [f.buffer]);
      this.#post({ type: "frames", id, frames: own }, transfer);
      return await result;
    } finally {
      this.inFlight -= frames.length;
      if (this.inFlight === 0) this.#idle.splice(0).forEach((r) => r());
    }
  }

  /** Resolves once every message sent has its result. */
  idle(): Promise<void> {
    return this.inFlight === 0 ? Promise.resolve() : new Promise((r) => this.#idle.push(r));
  }

  close(): void {
    this.#worker?.terminate();
  }
}
