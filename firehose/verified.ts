/**
 * FIREHOSE_VERIFY=true: the reference consumer, npm:@atproto/sync, checks every commit's
 * signature against the author's DID document and its MST proof before we normalize it.
 * Several times slower than the fast path; for audits and as the benchmark baseline.
 */
import process from "node:process";
import { InvalidInputError } from "@bsky/shared/errors";
import { isKeptCollection } from "@bsky/shared/events";
import { sleep } from "./batcher.ts";
import { type BaseOptions, BaseSubscription } from "./base_subscription.ts";
import { countIgnored } from "./network_counts.ts";
import {
  accountEvent,
  deleteEvent,
  identityEvent,
  parseTime,
  recordFacts,
  writeEvent,
} from "./normalize.ts";
import { addWatched } from "./watched_post.ts";

/**
 * npm:@atproto/identity reads process.versions.undici at construction, which Deno does
 * not define; give it a value before the package is loaded (it only logs it).
 */
export function installIdentityShim(): void {
  const versions = process.versions as Record<string, string>;
  versions.undici ??= "6.0.0";
}

/** `url` is the relay's. */
export interface VerifiedOptions extends BaseOptions {
  plcUrl: string;
  /** Skip signature checks (the benchmark's plain consumer, and replays of dead PDSes). */
  unauthenticated?: boolean;
}

type SyncEvent = {
  event: string;
  seq: number;
  time: string;
  did: string;
  collection?: string;
  rkey?: string;
  record?: unknown;
  cid?: { toString(): string };
  handle?: string;
  active?: boolean;
  status?: string;
};

/** A subscription through @atproto/sync's Firehose, writing through the same Batcher. */
export class VerifiedSubscription extends BaseSubscription<VerifiedOptions> {
  #firehose: { start(): Promise<void>; destroy(): Promise<void> } | undefined;
  #connected = false;
  /** Events handled on the current connection. */
  #received = 0;

  get connected(): boolean {
    return this.#connected;
  }

  protected announce(): void {
    this.log.info("Starting verified firehose subscription", { url: this.options.url });
  }

  protected async disconnect(): Promise<void> {
    await this.#firehose?.destroy();
  }

  protected onConflict(): void {
    this.log.error("Restart the verified firehose to resume from the stored cursor");
  }

  async #handle(evt: SyncEvent): Promise<void> {
    const b = this.batcher;
    const m = this.metrics;
    this.#received++;
    m.frames.inc({ type: evt.event });
    if (b.seen(evt.seq) && evt.seq !== b.seq) return;
    const time = parseTime(evt.time);
    if (time === undefined) return m.stats.drop("invalid_time");
    if (evt.event === "create" || evt.event === "update" || evt.event === "delete") {
      const collection = evt.collection ?? "";
      if (!isKeptCollection(collection)) {
        m.stats.ignore(collection);
        countIgnored(b.counts, collection, time, evt.did);
      } else if (evt.event === "delete") {
        b.addEvent(deleteEvent(evt.seq, time, evt.did, collection, evt.rkey!));
      } else {
        try {
          // Records come as lex values whose CIDs serialize as {"/": cid}; read them as the
          // fast path's {$link: cid} so both paths normalize the same JSON.
          const record = JSON.parse(
            JSON.stringify(
              evt.record,
              (_k, v) =>
                v && typeof v === "object" && typeof v["/"] === "string" &&
                  Object.keys(v).length === 1
                  ? { $link: v["/"] }
                  : v,
            ),
          );
          const facts = recordFacts(collection, evt.rkey!, record, this.options.limits);
          addWatched(facts, this.options.limits, () => record, () => evt.cid?.toString());
          b.addEvent(
            writeEvent(evt.seq, time, evt.did, evt.event, collection, evt.rkey!, facts),
          );
        } catch (err) {
          if (!(err instanceof InvalidInputError)) throw err;
          m.stats.drop(err.reason);
        }
      }
    } else if (evt.event === "identity") {
      b.addEvent(identityEvent(evt.seq, time, evt.did, evt.handle, m.stats));
    } else if (evt.event === "account") {
      b.addEvent(accountEvent(evt.seq, time, evt.did, evt.active === true, evt.status));
    } else {
      m.stats.ignore(evt.event);
    }
    b.advance(evt.seq);
    // Backpressure for free: @atproto/sync awaits this handler before the next event.
    while (b.pending >= this.options.maxPending && !this.abort.signal.aborted) {
      await b.settle();
      b.flushSoon();
      await sleep(5);
    }
  }

  /** Runs @atproto/sync's Firehose, which reconnects by itself, until stop() destroys it. */
  protected async connectOnce(): Promise<number> {
    installIdentityShim();
    const { Firehose } = await import("@atproto/sync");
    const { IdResolver } = await import("@atproto/identity");
    if (this.abort.signal.aborted) return 0;
    const b = this.batcher;
    const firehose = new Firehose({
      service: this.options.url,
      // Deno's own fetch: the process's --allow-net list already confines it to the PLC
      // host, which is the SSRF guard; the package's default guard needs Node's undici.
      idResolver: new IdResolver({
        plcUrl: this.options.plcUrl,
        fetch: (input, init) => fetch(input, init),
      }),
      getCursor: () => b.seq,
      unauthenticatedCommits: this.options.unauthenticated ?? false,
      unauthenticatedHandles: this.options.unauthenticated ?? false,
      excludeSync: true,
      handleEvent: (evt) => this.#handle(evt as unknown as SyncEvent),
      onError: (err) => {
        this.metrics.stats.drop("verification_failed");
        this.log.warn("Verified firehose dropped an event", { err: err.message });
      },
    });
    this.#firehose = firehose;
    this.#received = 0;
    this.#connected = true;
    try {
      await firehose.start();
    } finally {
      this.#connected = false;
    }
    return this.#received;
  }
}
