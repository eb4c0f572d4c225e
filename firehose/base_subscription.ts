/**
 * What both subscriptions share: the fast path (subscription.ts) and the verified one
 * through @atproto/sync (verified.ts). The batcher and the cursor it writes, the watch
 * list, start and stop, and the loop that connects from the cursor, waits for a connection
 * to end and everything it brought to be written, then connects again after a backoff that
 * grows while connections bring nothing. Each subscription keeps only how it connects.
 */
import type { Logger } from "@bsky/shared/log";
import { backoffMs } from "@bsky/shared/redis";
import { Batcher, sleep } from "./batcher.ts";
import type { FirehoseMetrics } from "./metrics.ts";
import type { Limits } from "./normalize.ts";
import type { Publisher } from "./publisher.ts";

export interface BaseOptions {
  /** Base URL of the upstream (ws:// or wss://), without the XRPC path. */
  url: string;
  batchSize: number;
  batchMs: number;
  maxPending: number;
  limits: Limits;
}

export abstract class BaseSubscription<O extends BaseOptions> {
  /** Aborted by stop(): every wait of the subscription ends on it. */
  protected readonly abort = new AbortController();
  #running: Promise<void> | undefined;
  readonly batcher: Batcher;

  constructor(
    readonly options: O,
    publisher: Publisher,
    readonly metrics: FirehoseMetrics,
    readonly log: Logger,
  ) {
    this.batcher = new Batcher(
      publisher,
      metrics,
      log,
      options.batchSize,
      this.abort.signal,
      () => this.onConflict(),
      () => this.onFull(),
    );
  }

  /** True while the upstream connection is open. */
  abstract get connected(): boolean;

  /** Durable cursor as last written. */
  get cursor(): number | undefined {
    return this.batcher.durable;
  }

  /** Replaces the accounts whose mentions carry what a reply needs (shared/watch.ts). */
  watch(dids: readonly string[]): void {
    this.options.limits.watch = new Set(dids);
  }

  /** Loads the cursor and runs until stop(). */
  start(): Promise<void> {
    this.#running ??= this.#run();
    return this.#running;
  }

  /** Closes the connection, writes what is pending and returns when done. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.disconnect();
    await this.#running;
  }

  /** Logs the start, from the cursor loaded. */
  protected abstract announce(cursor: number | undefined): void;

  /** Opens one connection from `cursor`; resolves with the frames received once it ends. */
  protected abstract connectOnce(cursor: number | undefined): Promise<number>;

  /** Ends the open connection, for stop(). */
  protected abstract disconnect(): void | Promise<void>;

  /** The stored cursor moved under us: the batcher reset its seq to it. */
  protected abstract onConflict(): void;

  /** A write was refused because consumers are too far behind. */
  protected onFull(): void {}

  /** Before each connection, once everything before it is written. */
  protected beforeConnect(): Promise<void> {
    return Promise.resolve();
  }

  /** Waits for everything received to be processed and written. */
  protected settle(): Promise<void> {
    return this.batcher.drain();
  }

  /** Releases what the subscription holds, once it has stopped. */
  protected release(): void {}

  async #run(): Promise<void> {
    const b = this.batcher;
    this.announce(await b.load());
    b.startTimer(this.options.batchMs);
    let attempt = 0;
    try {
      while (!this.abort.signal.aborted) {
        await this.settle();
        await this.beforeConnect();
        if (this.abort.signal.aborted) break;
        const received = await this.connectOnce(b.seq);
        await this.settle();
        if (this.abort.signal.aborted) break;
        attempt = received > 0 ? 1 : attempt + 1;
        const delay = backoffMs(attempt, 250, 30_000);
        this.log.info("Reconnecting to the firehose", { delayMs: delay, cursor: b.seq ?? null });
        await sleep(delay, this.abort.signal);
      }
    } finally {
      b.stopTimer();
      await this.settle();
      this.release();
    }
  }
}
