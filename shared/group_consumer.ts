/**
 * A consumer group over the partitioned firehose streams, each partition held by one
 * process at a time through a lease (partition_leases.ts): the indexer and the tasker
 * both read this way. The base keeps the reading connection (XREADGROUP blocks its own),
 * the leases, and the loop that refreshes them every third of a lease, idles while none is
 * held and hands each turn to the consumer; a reconnection asks for the pending entries to
 * be read again first (`recover`), since a reply lost to it leaves entries delivered but
 * never seen.
 */
import { errorMessage } from "./errors.ts";
import type { Logger } from "./log.ts";
import { PartitionLeases } from "./partition_leases.ts";
import { masterOf } from "./cluster.ts";
import { type Cluster, isCluster, type Redis } from "./redis.ts";

export interface GroupConsumerOptions {
  partitions: number;
  group: string;
  /** This process's name in the group and token in the leases. */
  name: string;
  batchSize: number;
  leaseMs: number;
  /** How long XREADGROUP waits for new entries. */
  blockMs?: number;
}

export type Entry = [id: string, fields: string[]];

/** A stream entry's fields as a record (field, value, field, value…). */
export function entryFields(fields: string[]): Record<string, string> {
  const f: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]] = fields[i + 1];
  return f;
}

/** Creates the group at `id` (and the stream) where missing; false when it exists. */
export async function createGroup(
  redis: Redis,
  stream: string,
  group: string,
  id: string,
): Promise<boolean> {
  try {
    await redis.xgroup("CREATE", stream, group, id, "MKSTREAM");
    return true;
  } catch (err) {
    if (!errorMessage(err).includes("BUSYGROUP")) throw err;
    return false;
  }
}

export abstract class GroupConsumer {
  protected stopped = false;
  protected readonly leases: PartitionLeases;
  protected readonly reader: Redis;
  /** Read our pending entries (from "0") before new ones. */
  protected recover = true;
  #running: Promise<void> | undefined;
  #wake: (() => void) | undefined;

  constructor(
    readonly redis: Redis,
    readonly log: Logger,
    readonly options: GroupConsumerOptions,
    lease: { key: (partition: number) => string; onHeld: (count: number) => void },
  ) {
    // XREADGROUP blocks its connection; reads get a connection of their own.
    this.reader = redis.duplicate();
    // Its errors are the main connection's too, which logs them.
    this.reader.on("error", () => {});
    // A reply lost to a reconnection leaves entries delivered to us but never seen: after
    // each (re)connection, read our own pending entries first, in order.
    this.reader.on("ready", () => this.recover = true);
    // A Cluster client is "ready" once: a node's connection lost and found again, or a node
    // gone or added, is said by these.
    for (const event of ["+node", "-node", "node error"]) {
      this.reader.on(event, () => this.recover = true);
    }
    this.leases = new PartitionLeases(redis, {
      partitions: options.partitions,
      name: options.name,
      leaseMs: options.leaseMs,
      key: lease.key,
      log,
      onHeld: lease.onHeld,
    });
  }

  get owned(): number[] {
    return this.leases.held;
  }

  start(): Promise<void> {
    this.#running ??= this.#run();
    return this.#running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.#wake?.();
    this.reader.disconnect();
    await this.#running?.catch(() => {});
    await this.drain();
    await this.leases.releaseAll();
  }

  /** Creates the groups where missing, before the first turn. */
  protected abstract ensureGroups(): Promise<void>;
  /** Partitions just taken over, to claim what their previous holder left. */
  protected abstract taken(partitions: number[]): Promise<void>;
  /** One turn of reading and handling, while some partition is held. */
  protected abstract turn(): Promise<void>;
  /** A turn failed: count and log it, and pause before the next. */
  protected abstract failed(err: unknown): Promise<void>;
  /** Waits for the work in flight when stopping. */
  protected abstract drain(): Promise<void>;

  async #run(): Promise<void> {
    await this.ensureGroups();
    let lastLeases = 0;
    while (!this.stopped) {
      try {
        if (Date.now() - lastLeases >= this.options.leaseMs / 3) {
          lastLeases = Date.now();
          await this.taken(await this.leases.refresh());
        }
        if (this.leases.size === 0) {
          await new Promise<void>((r) => {
            this.#wake = r;
            setTimeout(r, this.options.leaseMs / 3);
          });
          continue;
        }
        await this.turn();
      } catch (err) {
        if (this.stopped) break;
        await this.failed(err);
      }
    }
  }

  /**
   * XREADGROUP of `streams` from `ids`, blocking up to `blockMs` when `block`: one call, or
   * on a Redis Cluster (where one call cannot span the slots of several partitions) one per
   * stream, as readEach() says. Either way, the streams that have entries (every stream read
   * from "0"), in the order given; null when none has.
   */
  protected readGroup(
    streams: string[],
    ids: string[],
    block: boolean,
  ): Promise<[string, Entry[]][] | null> {
    const blockMs = block ? this.options.blockMs ?? 1000 : undefined;
    const reader: Redis | Cluster = this.reader;
    if (streams.length > 1 && isCluster(reader)) {
      return this.#readEach(reader, streams, ids, blockMs);
    }
    return this.#xreadgroup(streams, ids, blockMs);
  }

  /**
   * A read of each stream at once, without blocking; when none brings anything and `blockMs`
   * is given, another, each stream blocking for its share of `blockMs` among the streams of
   * its master (reads of one node's streams wait behind each other on its connection), so
   * that a turn still takes about `blockMs` at most and the leases are renewed in time.
   * Every read is waited for, and when one fails the turn fails with our pending entries to
   * be read first next time: the reads that did not fail delivered entries nobody saw.
   */
  async #readEach(
    cluster: Cluster,
    streams: string[],
    ids: string[],
    blockMs: number | undefined,
  ): Promise<[string, Entry[]][] | null> {
    const each = async (ms: (i: number) => number | undefined) => {
      const settled = await Promise.allSettled(
        streams.map((stream, i) => this.#xreadgroup([stream], [ids[i]], ms(i))),
      );
      const failure = settled.find((r) => r.status === "rejected");
      if (failure) {
        this.recover = true;
        throw failure.reason;
      }
      return settled.map((r) => (r as PromiseFulfilledResult<[string, Entry[]][] | null>).value);
    };
    let replies = await each(() => undefined);
    const empty = replies.every((r) => (r ?? []).every(([, entries]) => entries.length === 0));
    if (empty && blockMs !== undefined) {
      const masters = streams.map((stream) => masterOf(cluster, stream));
      const onMaster = new Map<string | undefined, number>();
      for (const m of masters) onMaster.set(m, (onMaster.get(m) ?? 0) + 1);
      replies = await each((i) => Math.max(1, Math.floor(blockMs / onMaster.get(masters[i])!)));
    }
    const out = replies.flatMap((r) => r ?? []);
    return out.length > 0 ? out : null;
  }

  #xreadgroup(
    streams: string[],
    ids: string[],
    blockMs: number | undefined,
  ): Promise<[string, Entry[]][] | null> {
    const { group, name, batchSize } = this.options;
    return (blockMs !== undefined
      ? this.reader.xreadgroup(
        "GROUP",
        group,
        name,
        "COUNT",
        batchSize,
        "BLOCK",
        blockMs,
        "STREAMS",
        ...streams,
        ...ids,
      )
      : this.reader.xreadgroup(
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
}
