/**
 * Reads the firehose streams through the tasker's own consumer group and hands each event
 * that may be a mention of the bot to the replier, several at a time.
 *
 * Delivery is at-least-once: an entry is acknowledged only once its mention is done
 * (answered, or decided to get no answer). A failure leaves it pending; it is read again
 * from the pending list after a backoff, after a reconnection, or by the tasker that takes
 * its partition over (XAUTOCLAIM of what the previous holder read and never acknowledged).
 * The replier makes a mention read twice harmless (replier.ts).
 *
 * As in the indexer, each partition is held by one tasker at a time through a lease, so two
 * taskers do not work on the same mention at once (they still may, harmlessly, while a
 * lease changes hands). Only entries whose JSON carries `watched` can be a mention: the rest
 * are acknowledged in bulk without being parsed. Mentions older than the maximum age get no
 * reply, so a group that fell further behind (a tasker stopped for a while) starts again
 * from that age instead of reading what it would only skip.
 */
import { decodeEvent, type FirehoseEvent } from "@bsky/shared/events";
import { errorMessage } from "@bsky/shared/errors";
import { createGroup, type Entry, entryFields, GroupConsumer } from "@bsky/shared/group_consumer";
import type { GroupConsumerOptions } from "@bsky/shared/group_consumer";
import { firehoseKeys } from "@bsky/shared/keys";
import type { Logger } from "@bsky/shared/log";
import { backoffMs, type Redis, serverTime } from "@bsky/shared/redis";
import { backoff, RetryLaterError, sleep } from "./http.ts";
import { taskerKeys } from "./ledger.ts";
import type { TaskerMetrics } from "./metrics.ts";

export interface ConsumerOptions extends GroupConsumerOptions {
  /** Events handled at the same time. */
  concurrency: number;
  /** Entries older than this are never read (the group starts after them). */
  maxAgeMs: number;
}

/** Handles one event; throws to leave it pending and have it read again. */
export type EventHandler = (event: FirehoseEvent) => Promise<unknown>;

const MARK = '"watched":';

export class MentionConsumer extends GroupConsumer {
  /** When the earliest failed entry is due again (ms). */
  #retryAt = Infinity;
  #attempts = new Map<string, number>();
  #inflight = new Map<string, Promise<void>>();
  #slots: (() => void)[] = [];

  constructor(
    redis: Redis,
    readonly handle: EventHandler,
    readonly metrics: TaskerMetrics,
    log: Logger,
    override readonly options: ConsumerOptions,
  ) {
    super(redis, log, options, {
      key: taskerKeys.lease,
      onHeld: (n) => metrics.owned.set(undefined, n),
    });
  }

  /** Entries being handled now. */
  get busy(): number {
    return this.#inflight.size;
  }

  protected async drain(): Promise<void> {
    await Promise.allSettled(this.#inflight.values());
  }

  /** Creates the group where missing, and moves it past entries too old to answer. */
  protected async ensureGroups(): Promise<void> {
    const oldest = (await serverTime(this.redis)) - this.options.maxAgeMs;
    for (let p = 0; p < this.options.partitions; p++) {
      const stream = firehoseKeys.stream(p);
      if (await createGroup(this.redis, stream, this.options.group, `${oldest}-0`)) continue;
      const groups = await this.redis.xinfo("GROUPS", stream) as unknown[][];
      for (const row of groups) {
        const f: Record<string, unknown> = {};
        for (let i = 0; i + 1 < row.length; i += 2) f[String(row[i])] = row[i + 1];
        if (f.name !== this.options.group) continue;
        const delivered = Number(String(f["last-delivered-id"]).split("-")[0]);
        if (delivered < oldest) {
          await this.redis.xgroup("SETID", stream, this.options.group, `${oldest}-0`);
          this.log.info("Skipped entries too old to answer", { partition: p });
        }
      }
    }
  }

  protected async taken(partitions: number[]): Promise<void> {
    for (const p of partitions) await this.#claim(p);
  }

  protected async turn(): Promise<void> {
    if (this.#retryAt <= Date.now()) {
      this.#retryAt = Infinity;
      this.recover = true;
    }
    if (this.recover) {
      this.recover = false;
      await this.#readPending();
    } else await this.#readNew();
  }

  protected async failed(err: unknown): Promise<void> {
    this.log.error("Tasker loop failed; retrying", { err: errorMessage(err) });
    await sleep(backoffMs(3));
  }

  /** Takes over what the partition's previous holder read and never acknowledged. */
  async #claim(p: number): Promise<void> {
    let cursor = "0-0", claimed = 0;
    do {
      const [next, entries] = await this.redis.xautoclaim(
        firehoseKeys.stream(p),
        this.options.group,
        this.options.name,
        0,
        cursor,
        "COUNT",
        this.options.batchSize,
        "JUSTID",
      ) as [string, string[]];
      claimed += entries.length;
      cursor = next;
    } while (cursor !== "0-0" && !this.stopped);
    if (claimed > 0) this.log.info("Claimed unacknowledged entries", { partition: p, claimed });
    this.recover = true;
  }

  async #readNew(): Promise<void> {
    const owned = this.owned;
    const res = await this.readGroup(
      owned.map((p) => firehoseKeys.stream(p)),
      owned.map(() => ">"),
      true,
    );
    for (const [stream, entries] of res ?? []) await this.#process(stream, entries);
  }

  /** Goes through our pending entries, page by page, from the start. */
  async #readPending(): Promise<void> {
    for (const p of this.owned) {
      const stream = firehoseKeys.stream(p);
      let after = "0";
      while (!this.stopped && this.leases.has(p)) {
        const res = await this.readGroup([stream], [after], false);
        const entries = (res?.[0]?.[1] ?? []).filter((e) => e[1] !== null);
        if (entries.length === 0) break;
        await this.#process(stream, entries);
        after = entries[entries.length - 1][0];
      }
    }
  }

  /** Acknowledges what cannot be a mention, and starts handling the rest. */
  async #process(stream: string, entries: Entry[]): Promise<void> {
    this.metrics.entries.inc(undefined, entries.length);
    const skipped: string[] = [];
    for (const [id, fields] of entries) {
      const key = `${stream} ${id}`;
      if (this.#inflight.has(key)) continue;
      const f = entryFields(fields);
      if (!f.e?.includes(MARK)) {
        skipped.push(id);
        continue;
      }
      let event: FirehoseEvent;
      try {
        event = decodeEvent(f.v, f.e);
      } catch {
        // The indexer parks malformed entries; here they are only not answered.
        skipped.push(id);
        continue;
      }
      await this.#slot();
      const work = this.#handle(stream, id, event).finally(() => {
        this.#inflight.delete(key);
        this.#slots.shift()?.();
      });
      this.#inflight.set(key, work);
    }
    if (skipped.length > 0) await this.redis.xack(stream, this.options.group, ...skipped);
  }

  /** Waits until fewer than `concurrency` events are being handled. */
  async #slot(): Promise<void> {
    while (this.#inflight.size >= this.options.concurrency) {
      await new Promise<void>((r) => this.#slots.push(r));
    }
  }

  async #handle(stream: string, id: string, event: FirehoseEvent): Promise<void> {
    const key = `${stream} ${id}`;
    try {
      await this.handle(event);
      await this.redis.xack(stream, this.options.group, id);
      this.#attempts.delete(key);
    } catch (err) {
      const attempt = (this.#attempts.get(key) ?? 0) + 1;
      this.#attempts.set(key, attempt);
      const at = err instanceof RetryLaterError
        ? err.at
        : Date.now() + backoff(attempt, 1000, 60_000);
      this.#retryAt = Math.min(this.#retryAt, at);
      this.metrics.retries.inc();
      this.log.warn("Cannot handle a mention yet; it stays pending", {
        entry: id,
        attempt,
        inMs: at - Date.now(),
        err: errorMessage(err),
      });
    }
  }
}
