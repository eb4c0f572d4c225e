/**
 * PNG rendering off the main thread: a pool of renderer threads (png_worker.ts, started
 * when first needed) and a bounded queue in front of them. A render takes its place when it
 * is asked for, before its SVG is built, so work past the bound is refused at once
 * (PngPoolFull, which the API answers with 503 and Retry-After) instead of piling up in
 * memory. The main thread draws nothing, so /healthz and cached answers never wait behind
 * a render.
 * @module
 */
import type { RenderReply, RenderRequest } from "./png_worker.ts";

export interface PngPoolOptions {
  /** Renderer threads. */
  workers: number;
  /** Renders that may wait for a thread; one more is refused. */
  queue: number;
}

/** Every thread is busy and the queue is full: ask again later. */
export class PngPoolFull extends Error {
  override name = "PngPoolFull";
  constructor(readonly retryAfterSeconds: number) {
    super(`Cannot render a PNG now: every renderer is busy and the queue is full`);
  }
}

interface Job {
  request: RenderRequest;
  resolve(png: Uint8Array): void;
  reject(err: Error): void;
}

export class PngPool {
  readonly #threads = new Set<Worker>();
  readonly #idle: Worker[] = [];
  /** Renders waiting for a thread, oldest first. */
  readonly #waiting: Job[] = [];
  /** The render each busy thread is drawing. */
  readonly #running = new Map<Worker, Job>();
  /** Renders admitted and not finished: drawing, waiting, or having their SVG built. */
  #places = 0;
  #ids = 0;
  /** A running average of a render's time, for Retry-After. */
  #renderMs = 100;
  #closed = false;
  /** Renders refused because the pool was full. */
  refused = 0;

  constructor(readonly options: PngPoolOptions) {}

  /**
   * The PNG of the SVG that `svg` builds, drawn on a renderer thread. Throws PngPoolFull at
   * once, before `svg` is called, when `workers + queue` renders are admitted already.
   */
  async render(svg: () => Promise<string> | string, width: number): Promise<Uint8Array> {
    const capacity = this.options.workers + this.options.queue;
    if (this.#closed) throw new RangeError("Cannot render a PNG: the pool is closed");
    if (this.#places >= capacity) {
      this.refused++;
      const rounds = Math.ceil((this.#places - this.options.workers + 1) / this.options.workers);
      throw new PngPoolFull(Math.max(1, Math.ceil((rounds * this.#renderMs) / 1000)));
    }
    this.#places++;
    try {
      const text = await svg();
      const started = performance.now();
      const png = await new Promise<Uint8Array>((resolve, reject) => {
        this.#waiting.push({ request: { id: ++this.#ids, svg: text, width }, resolve, reject });
        this.#dispatch();
      });
      this.#renderMs = 0.8 * this.#renderMs + 0.2 * (performance.now() - started);
      return png;
    } finally {
      this.#places--;
    }
  }

  /** Renders admitted and not finished, and those drawing now. */
  get load(): { admitted: number; drawing: number; threads: number } {
    return { admitted: this.#places, drawing: this.#running.size, threads: this.#threads.size };
  }

  /** Stops every thread; renders not finished fail. */
  close(): void {
    this.#closed = true;
    const gone = new RangeError("Cannot render a PNG: the pool is closed");
    for (const job of this.#waiting.splice(0)) job.reject(gone);
    for (const [thread, job] of this.#running) {
      job.reject(gone);
      thread.terminate();
    }
    for (const thread of this.#threads) thread.terminate();
    this.#running.clear();
    this.#threads.clear();
    this.#idle.length = 0;
  }

  #dispatch(): void {
    while (this.#waiting.length > 0) {
      const thread = this.#idle.pop() ??
        (this.#threads.size < this.options.workers ? this.#start() : undefined);
      if (!thread) return;
      const job = this.#waiting.shift()!;
      this.#running.set(thread, job);
      thread.postMessage(job.request);
    }
  }

  #start(): Worker {
    const thread = new Worker(new URL("./png_worker.ts", import.meta.url), { type: "module" });
    thread.onmessage = (e: MessageEvent<RenderReply>) => {
      const job = this.#running.get(thread);
      this.#running.delete(thread);
      this.#idle.push(thread);
      if (job) {
        const reply = e.data;
        if ("png" in reply) job.resolve(reply.png);
        else job.reject(new Error(`Cannot render a PNG: ${reply.error}`));
      }
      this.#dispatch();
    };
    thread.onerror = (e: ErrorEvent) => {
      // A thread that fails (it could not load, or crashed) is replaced by a fresh one.
      e.preventDefault();
      const job = this.#running.get(thread);
      this.#running.delete(thread);
      this.#threads.delete(thread);
      thread.terminate();
      job?.reject(new Error(`Cannot render a PNG: the renderer failed: ${e.message}`));
      this.#dispatch();
    };
    this.#threads.add(thread);
    return thread;
  }
}
