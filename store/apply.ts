/** Turns firehose events into store operations and applies them atomically with their acks. */
import type { Buffer } from "node:buffer";
import type { FirehoseEvent } from "@bsky/shared/events";
import type { Redis } from "@bsky/shared/redis";
import { APPLY_SCRIPT, END_BLOCKS_SCRIPT, INTERN_SCRIPT } from "./apply_script.ts";
import { didKey, MAX_ID, storeKeys } from "./layout.ts";
import { defineScript } from "./lua.ts";
import { eventDids, eventOps } from "./operations.ts";

export { recordArg, rkeyField } from "./record_arg.ts";

export interface ApplyOptions {
  retentionDays: number;
  /** How long records are remembered so that deletes can be subtracted. */
  memoryHours: number;
  /** DIDs whose ids are kept in process memory (a cap, so memory stays bounded). */
  idCacheSize?: number;
}

export interface ApplyStats {
  applied: number;
  duplicate: number;
  /** Deletes of records not in the record memory (older, or that counted nothing). */
  unmatched: number;
  /** Deletes of records remembered but older than the record memory allows. */
  late: number;
}

export interface AckOptions {
  stream: string;
  group: string;
  entryIds: string[];
  /** Fencing: the batch is written only while this lease is ours. */
  lease?: { key: string; token: string };
  /** The stream's partition and each event's entry id (a Cluster's apply needs them). */
  partition?: number;
  eventIds?: string[];
}

/**
 * What applies the indexer's batches: prepare() while the batch before is applied, then
 * run(); Applier on one server, ClusterApplier (cluster_apply.ts) on a Redis Cluster.
 */
export interface BatchApplier<P = unknown> {
  prepare(events: readonly FirehoseEvent[], ack: AckOptions): Promise<P>;
  run(prepared: P): Promise<ApplyStats>;
  /**
   * On a Redis Cluster, the token of the fence the retention sweep raises while it reclaims
   * ids (store/reclaim.ts), or null: while it is up, prepare() throws FencedError.
   */
  fence?(): Promise<string | null>;
  /** A prepared batch that will not run, nothing of it written (see ClusterApplier). */
  abandon?(prepared: P): Promise<void>;
}

/**
 * The retention sweep's fence is up (it reclaims ids, store/reclaim.ts): no batch reads ids
 * until it is down. Nothing was read or written: prepare the batch again then.
 */
export class FencedError extends Error {
  override name = "FencedError";
}

/** The apply script's refusal of ids read at an older epoch of the interning. */
const IDS_CHANGED = "IDS_CHANGED";

/**
 * Ids were reclaimed since the batch's ids were read: nothing was written, and the
 * applier's cached ids are dropped; ids read again (ids()) are right.
 */
export class IdsChangedError extends Error {
  override name = "IdsChangedError";
}

/** Another process holds the partition now; the batch was not written. */
export class LeaseLostError extends Error {
  override name = "LeaseLostError";
}

type ScriptRedis = Redis & {
  applyOps(...args: (string | number | Uint8Array)[]): Promise<number[]>;
  internDids(...args: (string | Buffer)[]): Promise<number[]>;
  endBlocks(step: number): Promise<number>;
};

/** Blocks of a deleted account ended in one call (end_blocks.lua). */
const ENDING_STEP = 1000;

export class Applier implements BatchApplier<(string | number | Uint8Array)[]> {
  #redis: ScriptRedis;
  #ids = new Map<string, number>();
  /** The interning's epoch the cached ids were read at (see IdsChangedError). */
  #epoch: string | undefined;
  /** What prepared arguments were made of, to make them again after ids changed. */
  #prepared = new WeakMap<unknown[], [readonly FirehoseEvent[], AckOptions | undefined]>();

  constructor(redis: Redis, readonly options: ApplyOptions) {
    this.#redis = redis as ScriptRedis;
    defineScript(redis, "applyOps", APPLY_SCRIPT);
    defineScript(redis, "internDids", INTERN_SCRIPT, 2);
    defineScript(redis, "endBlocks", END_BLOCKS_SCRIPT);
  }

  /**
   * Ends the blocks that deletions of accounts with many blocks left, a call of at most
   * ENDING_STEP blocks at a time (the apply script ends that many itself); run() does this
   * after any batch while some are left (so a failure here leaves them to the next batch,
   * or to the same one tried again), and the indexer when it starts.
   */
  async endBlocks(): Promise<void> {
    while (await this.#redis.endBlocks(ENDING_STEP) > 0);
  }

  /**
   * Drops the cached ids when the interning's epoch (`read` when it was just read, else read
   * now) moved since they were read (ids were reclaimed): on a Redis Cluster, whose apply
   * cannot check the epoch, before each batch.
   */
  async checkEpoch(read?: string): Promise<void> {
    const epoch = read ?? (await this.#redis.get(storeKeys.idEpoch)) ?? "0";
    if (epoch !== this.#epoch) {
      this.#ids.clear();
      this.#epoch = epoch;
    }
  }

  /** Ids of the given DIDs, from the cache or interned in Redis. */
  async ids(dids: Iterable<string>): Promise<Map<string, number>> {
    this.#epoch ??= (await this.#redis.get(storeKeys.idEpoch)) ?? "0";
    const all = [...dids];
    const out = new Map<string, number>();
    const missing: string[] = [];
    for (const did of all) {
      const id = this.#ids.get(did);
      if (id === undefined) missing.push(did);
      else out.set(did, id);
    }
    for (let i = 0; i < missing.length; i += 2000) {
      const chunk = missing.slice(i, i + 2000);
      const ids = await this.#redis.internDids(
        storeKeys.didToId,
        storeKeys.nextId,
        ...chunk.map(didKey),
      );
      // Ids were reclaimed since the cache was filled: none of it can be trusted.
      const epoch = String(ids[chunk.length]);
      if (this.#epoch !== epoch) {
        this.#ids.clear();
        this.#epoch = epoch;
        return await this.ids(all);
      }
      chunk.forEach((did, k) => {
        if (ids[k] > MAX_ID) {
          throw new Error(`Cannot intern ${did}: the store's ${MAX_ID} ids are used up`);
        }
        out.set(did, ids[k]);
        if (this.#ids.size >= (this.options.idCacheSize ?? 2_000_000)) this.#ids.clear();
        this.#ids.set(did, ids[k]);
      });
    }
    return out;
  }

  /** The store operations of the events, in order. */
  ops(
    events: readonly FirehoseEvent[],
    ids: Map<string, number>,
  ): (string | number | Uint8Array)[] {
    return eventOps(events, ids);
  }
  /** The script arguments for applying the events and acknowledging their entries. */
  async prepare(
    events: readonly FirehoseEvent[],
    ack?: AckOptions,
  ): Promise<(string | number | Uint8Array)[]> {
    const dids = new Set<string>();
    for (const e of events) eventDids(e, dids);
    const ids = await this.ids(dids);
    const entryIds = ack?.entryIds ?? [];
    const args = [
      this.options.retentionDays * 86400,
      this.options.memoryHours * 3600,
      this.options.memoryHours,
      ack?.stream ?? "",
      ack?.group ?? "",
      entryIds.length,
      ack?.lease?.key ?? "",
      ack?.lease?.token ?? "",
      ...entryIds,
      // The epoch its ids were read at: checked before anything is written.
      "e",
      this.#epoch ?? "",
      ...this.ops(events, ids),
    ];
    this.#prepared.set(args, [events, ack]);
    return args;
  }

  /**
   * Runs prepared arguments: one atomic apply-and-acknowledge. Arguments made of ids read
   * before ids were reclaimed are made again from their events, with ids read again;
   * others (not from prepare()) throw IdsChangedError after the cache is emptied.
   */
  async run(args: (string | number | Uint8Array)[]): Promise<ApplyStats> {
    for (let attempt = 0;; attempt++) {
      // The epoch check first among the operations (prepare() puts it there).
      const at = 8 + Number(args[5]);
      if (args[at] !== "e") {
        args = [...args.slice(0, at), "e", this.#epoch ?? "", ...args.slice(at)];
      }
      try {
        const [applied, duplicate, unmatched, late, ending] = await this.#redis.applyOps(
          ...args,
        );
        if (applied < 0) {
          throw new LeaseLostError(`Cannot apply a batch of "${args[3]}": the lease is lost`);
        }
        if (ending > 0) await this.endBlocks();
        // The epoch check counts as applied.
        return { applied: applied - 1, duplicate, unmatched, late };
      } catch (err) {
        if (!(err instanceof Error) || !err.message.includes(IDS_CHANGED)) throw err;
        this.#ids.clear();
        this.#epoch = undefined;
        const made = this.#prepared.get(args);
        if (!made || attempt >= 5) throw new IdsChangedError(err.message, { cause: err });
        args = await this.prepare(...made);
      }
    }
  }

  /**
   * Applies the events and acknowledges `entryIds` of `stream` for `group` in one atomic
   * step. Entry ids may include entries that carry no operation (parked or ignored).
   */
  async apply(events: readonly FirehoseEvent[], ack?: AckOptions): Promise<ApplyStats> {
    return await this.run(await this.prepare(events, ack));
  }
}
