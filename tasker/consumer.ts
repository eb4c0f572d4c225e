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
import { PartitionLeases } from "@bsky/shared/partition_leases";
import { decodeEvent, type FirehoseEvent } from "@bsky/shared/events";
import { errorMessage } from "@bsky/shared/errors";
import { firehoseKeys } from "@bsky/shared/keys";
import type { Logger } from "@bsky/shared/log";
import { backoffMs, type Redis, serverTime } from "@bsky/shared/redis";
import { backoff, RetryLaterError, sleep } from "./http.ts";
import { taskerKeys } from "./ledger.ts";
import type { TaskerMetrics } from "./metrics.ts";

export interface ConsumerOptions {
  partitions: number;
  group: string;
  /** This process's name in the group and token in the leases. */
  name: string;
  batchSize: number;
  leaseMs: number;
  /** Events handled at the same time. */
  concurrency: number;
  /** Entries older than this are never read (the group starts after them). */
  maxAgeMs: number;
  /** How long XREADGROUP waits for new entries. */
  blockMs?: number;
}

/** Handles one event; throws to leave it pending and have it read again. */
export type EventHandler = (event: FirehoseEvent) => Promise<unknown>;

type Entry = [id: string, fields: string[]];

const MARK = '"watched":';

export class MentionConsumer {
  #stopped = false;
  #leases: PartitionLeases;
  #running: Promise<void> | undefined;
  #reader: Redis;
  #wake: (() => void) | undefined;
  /** Read our pending entries (from "0") before new ones. */
  #recover = true;
  /** When the earliest failed entry is due again (ms). */
  #retryAt = Infinity;
  #attempts = new Map<string, number>();
  #inflight = new Map<string, Promise<void>>();
  #slots: (() => void)[] = [];

  constructor(
    readonly redis: Redis,
    readonly handle: EventHandler,
    readonly metrics: TaskerMetrics,
    readonly log: Logger,
    readonly options: ConsumerOptions,
  ) {
    // XREADGROUP blocks its connection; reads get a connection of their own.
    this.#reader = redis.duplicate();
    this.#reader.on("error", () => {});
    // A reply lost to a reconnection leaves entries delivered to us but never seen.
    this.#reader.on("ready", () => this.#recover = true);
    this.#leases = new PartitionLeases(redis, {
      partitions: options.partitions,
      name: options.name,
      leaseMs: options.leaseMs,
      key: taskerKeys.lease,
      log,
      onHeld: (n) => metrics.owned.set(undefined, n),
    });
  }

  get owned(): number[] {
    return this.#leases.held;
  }

  /** Entries being handled now. */
  get busy(): number {
    return this.#inflight.size;
  }

  start(): Promise<void> {
    this.#running ??= this.#run();
    return this.#running;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#wake?.();
    this.#reader.disconnect();
    await this.#running?.catch(() => {});
    await Promise.allSettled(this.#inflight.values());
    await this.#leases.releaseAll();
  }

  /** Creates the group where missing, and moves it past entries too old to answer. */
  async #ensureGroups(): Promise<void> {
    const oldest = (await serverTime(this.redis)) - this.options.maxAgeMs;
    for (let p = 0; p < this.options.partitions; p++) {
      const stream = firehoseKeys.stream(p);
      try {
        await this.redis.xgroup("CREATE", stream, this.options.group, `${oldest}-0`, "MKSTREAM");
        continue;
      } catch (err) {
        if (!errorMessage(err).includes("BUSYGROUP")) throw err;
      }
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

  async #run(): Promise<void> {
    await this.#ensureGroups();
    let lastLeases = 0;
    while (!this.#stopped) {
      try {
        if (Date.now() - lastLeases >= this.options.leaseMs / 3) {
          lastLeases = Date.now();
          for (const p of await this.#leases.refresh()) await this.#claim(p);
        }
        if (this.#leases.size === 0) {
          await new Promise<void>((r) => {
            this.#wake = r;
            setTimeout(r, this.options.leaseMs / 3);
          });
          continue;
        }
        if (this.#retryAt <= Date.now()) {
          this.#retryAt = Infinity;
          this.#recover = true;
        }
        if (this.#recover) {
          this.#recover = false;
          await this.#readPending();
        } else await this.#readNew();
      } catch (err) {
        if (this.#stopped) break;
        this.log.error("Tasker loop failed; retrying", { err: errorMessage(err) });
        await sleep(backoffMs(3));
      }
    }
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
    } while (cursor !== "0-0" && !this.#stopped);
    if (claimed > 0) this.log.info("Claimed unacknowledged entries", { partition: p, claimed });
    this.#recover = true;
  }

  #readGroup(streams: string[], ids: string[], block: boolean) {
    const { group, name, batchSize } = this.options;
    return (block
      ? this.#reader.xreadgroup(
        "GROUP",
        group,
        name,
        "COUNT",
        batchSize,
        "BLOCK",
        this.options.blockMs ?? 1000,
        "STREAMS",
        ...streams,
        ...ids,
      )
      : this.#reader.xreadgroup(
        "GROUP",
        group,
        name,
        "COUNT",
        batchSize,
        "STREAMS",
        ...streams,
        ...ids,
      )) as Promise<[string, Entry[]][] | null>;
  }

  async #readNew(): Promise<void> {
    const owned = this.owned;
    const res = await this.#readGroup(
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
      while (!this.#stopped && this.#leases.has(p)) {
        const res = await this.#readGroup([stream], [after], false);
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
      const f: Record<string, string> = {};
      for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]] = fields[i + 1];
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
