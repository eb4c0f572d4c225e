/**
 * Reads the firehose streams through a consumer group and applies them to the store.
 *
 * Order per author matters (a delete must follow its create), and a consumer group alone
 * would spread one stream's entries over several processes. So each partition is held by
 * one indexer at a time through a lease in Redis; the apply script checks the lease before
 * writing (fencing), and a process that takes a partition over first claims the entries
 * its previous holder read but never acknowledged. Any number of indexers can run: they
 * share the partitions, and stand by for each other.
 */
import { decodeEvent, type FirehoseEvent, MalformedEventError } from "@bsky/shared/events";
import { errorMessage } from "@bsky/shared/errors";
import {
  createGroup,
  type Entry,
  entryFields,
  GroupConsumer,
  type GroupConsumerOptions,
} from "@bsky/shared/group_consumer";
import { firehoseKeys } from "@bsky/shared/keys";
import type { Logger } from "@bsky/shared/log";
import { backoffMs, type Redis } from "@bsky/shared/redis";
import { type BatchApplier, FencedError, LeaseLostError } from "@bsky/store/apply";
import type { IndexerMetrics } from "./metrics.ts";
import { storeKeys } from "@bsky/store/layout";

export type ConsumerOptions = GroupConsumerOptions;

/** How long a turn pauses at the fence (ms). */
const FENCE_PAUSE_MS = 20;

export class StreamConsumer extends GroupConsumer {
  /** The partition of each stream key. */
  #partitionOf: Map<string, number>;
  /** The next read, started while the current batch is applied. */
  #prefetch: Promise<[string, Entry[]][] | null> | undefined;
  /** The apply-and-acknowledge in flight; batches are applied one after another. */
  #inflight: Promise<void> | undefined;
  /** The fence this process waits at, while it is up. */
  #atFence: string | undefined;
  /** A batch was refused at the fence: turns look at it before reading. */
  #fenced = false;
  /** Partitions whose last batch run here was given up, perhaps half written. */
  #unfinished = new Set<number>();

  constructor(
    redis: Redis,
    readonly applier: BatchApplier,
    readonly metrics: IndexerMetrics,
    log: Logger,
    options: ConsumerOptions,
  ) {
    super(redis, log, options, {
      key: storeKeys.lease,
      onHeld: (n) => metrics.owned.set(undefined, n),
    });
    this.#partitionOf = new Map(firehoseKeys.streams(options.partitions).map((s, p) => [s, p]));
  }

  protected async ensureGroups(): Promise<void> {
    for (let p = 0; p < this.options.partitions; p++) {
      await createGroup(this.redis, firehoseKeys.stream(p), this.options.group, "0");
    }
  }

  protected async taken(partitions: number[]): Promise<void> {
    if (partitions.length) await this.settle();
    for (const p of partitions) await this.#claim(p);
  }

  protected async turn(): Promise<void> {
    if (!await this.#stoppedAtFence()) await this.#readOnce();
  }

  /**
   * On a Redis Cluster, while the retention sweep's fence is up (it reclaims ids,
   * store/reclaim.ts), no batch is prepared (the applier refuses: FencedError, and the
   * entries read are read again from the pending list once it is down): once one was
   * refused, a turn only lets the batch in flight finish, and pauses, until the fence is
   * down. Returns whether it did.
   */
  async #stoppedAtFence(): Promise<boolean> {
    // Looked at only once a batch was refused (FencedError), until the fence is down.
    if (!this.#fenced) return false;
    const token = await this.applier.fence?.() ?? null;
    if (token === null) {
      if (this.#atFence) this.log.info("The fence is down; reading again");
      this.#atFence = undefined;
      this.#fenced = false;
      return false;
    }
    await this.settle();
    if (this.#atFence !== token) {
      this.log.info("Waiting at the fence while ids are reclaimed", { partitions: this.owned });
    }
    this.#atFence = token;
    await new Promise((r) => setTimeout(r, FENCE_PAUSE_MS));
    return true;
  }

  protected async failed(err: unknown): Promise<void> {
    this.metrics.errors.inc();
    this.log.error("Indexer loop failed; retrying", { err: errorMessage(err) });
    await new Promise((r) => setTimeout(r, backoffMs(3)));
  }

  protected async drain(): Promise<void> {
    await this.settle().catch(() => {});
  }

  /** Applies entries read earlier by whoever held the partition and never acknowledged. */
  async #claim(p: number): Promise<void> {
    const stream = firehoseKeys.stream(p);
    let cursor = "0-0";
    do {
      // Once a batch was refused at the fence, the rest is only claimed (JUSTID), not
      // applied: the pending list is read again from the start, in order, once it is down.
      const justIds = this.#fenced;
      const [next, entries] = await this.redis.call(
        "XAUTOCLAIM",
        stream,
        this.options.group,
        this.options.name,
        0,
        cursor,
        "COUNT",
        this.options.batchSize,
        ...(justIds ? ["JUSTID"] : []),
      ) as [string, Entry[]];
      const live = justIds ? [] : entries.filter((e) => e !== null && e[1] !== null);
      if (live.length > 0) {
        this.log.info("Claimed unacknowledged entries", { partition: p, entries: live.length });
        await this.#process(p, live);
      }
      cursor = next;
    } while (cursor !== "0-0" && !this.stopped);
  }

  /** Reads from every owned partition: new entries (">"), or our own pending ones ("0"). */
  #read(from: ">" | "0"): Promise<[string, Entry[]][] | null> {
    const owned = this.owned;
    const read = this.readGroup(
      owned.map((p) => firehoseKeys.stream(p)),
      owned.map(() => from),
      true,
    );
    read.catch(() => {}); // awaited later; a failure is handled there
    return read;
  }

  async #readOnce(): Promise<void> {
    let res: [string, Entry[]][] | null;
    if (this.recover) {
      // Whatever a read in flight brings is in our pending list too, in order: drop it,
      // let the batch being applied finish, and read the pending list from the start.
      await this.#prefetch?.catch(() => {});
      this.#prefetch = undefined;
      await this.settle();
      res = await this.#read("0");
      if ((res ?? []).every(([, entries]) => entries.length === 0)) this.recover = false;
    } else {
      res = await (this.#prefetch ?? this.#read(">"));
      this.#prefetch = undefined;
    }
    for (const [stream, entries] of res ?? []) {
      await this.#process(this.#partitionOf.get(stream)!, entries);
    }
  }

  /**
   * Parks what cannot be read, prepares the rest, and starts its apply-and-acknowledge once
   * the previous batch's is done: preparing one batch overlaps with Redis applying the last,
   * and batches of a partition are applied in order.
   */
  async #process(p: number, entries: Entry[]): Promise<void> {
    const stream = firehoseKeys.stream(p);
    const events: FirehoseEvent[] = [];
    const eventIds: string[] = [];
    const parked = this.redis.pipeline();
    let parkedCount = 0;
    for (const [id, fields] of entries) {
      const f = entryFields(fields);
      try {
        events.push(decodeEvent(f.v, f.e));
        eventIds.push(id);
      } catch (err) {
        const reason = err instanceof MalformedEventError ? err.reason : "unexpected";
        this.metrics.parked.inc({ reason });
        parkedCount++;
        parked.xadd(
          storeKeys.parked,
          "MAXLEN",
          "~",
          100_000,
          "*",
          "stream",
          stream,
          "id",
          id,
          "reason",
          reason,
          ...fields.slice(0, 20).map((x) => x.slice(0, 10_000)),
        );
      }
    }
    if (parkedCount > 0) {
      await parked.exec();
      this.log.warn("Parked malformed stream entries", { partition: p, entries: parkedCount });
    }
    const ack = {
      stream,
      group: this.options.group,
      entryIds: entries.map(([id]) => id),
      lease: { key: storeKeys.lease(p), token: this.options.name },
      partition: p,
      eventIds,
    };
    const args = await this.#retry(p, () => this.applier.prepare(events, ack));
    // While the last batch applies, the next one is already on its way from Redis.
    if (!this.recover && !this.#prefetch && this.leases.size > 0 && !this.stopped) {
      this.#prefetch = this.#read(">");
    }
    // One batch applies while the next is prepared, never more: wait for the last one.
    await this.settle();
    if (!args) return;
    this.#inflight = (async () => {
      // Not run at all: nothing of it written, its partition no longer said to write;
      // unless a batch before it may be half written (it stays said, for the successor).
      if (!this.leases.has(p) || this.stopped) {
        if (!this.#unfinished.has(p)) await this.applier.abandon?.(args).catch(() => {});
        return;
      }
      const started = performance.now();
      const stats = await this.#retry(p, () => this.applier.run(args));
      if (!stats) {
        // Given up (stopping, or the partition lost) after it may have written a part.
        this.#unfinished.add(p);
        return;
      }
      this.#unfinished.delete(p);
      const m = this.metrics;
      m.batches.observe((performance.now() - started) / 1000);
      m.entries.inc({ partition: String(p) }, entries.length);
      for (const [outcome, n] of Object.entries(stats)) if (n) m.ops.inc({ outcome }, n);
      if (events.length) {
        m.lag.set(undefined, (Date.now() - events[events.length - 1].time) / 1000);
      }
    })();
  }

  /** Waits until every batch started is applied. */
  async settle(): Promise<void> {
    while (this.#inflight) {
      const current = this.#inflight;
      await current;
      if (this.#inflight === current) this.#inflight = undefined;
    }
  }

  /** Retries a step until it works; undefined when the partition was lost or we stop. */
  async #retry<T>(p: number, step: () => Promise<T>): Promise<T | undefined> {
    for (let attempt = 1;; attempt++) {
      if (!this.leases.has(p) || this.stopped) return undefined;
      try {
        return await step();
      } catch (err) {
        if (err instanceof LeaseLostError) {
          this.leases.lost(p);
          this.log.warn("Lost the lease of a partition while writing", { partition: p });
          return undefined;
        }
        // Not read while ids are reclaimed: read again, in order, once the fence is down.
        if (err instanceof FencedError) {
          this.recover = true;
          this.#fenced = true;
          return undefined;
        }
        // Retry the same batch: moving on would break the order of its authors' events.
        this.metrics.errors.inc();
        this.log.error("Cannot apply a batch; retrying", { partition: p, err: errorMessage(err) });
        await new Promise((r) => setTimeout(r, backoffMs(attempt, 100, 5000)));
      }
    }
  }
}
