/** Turns firehose events into store operations and applies them atomically with their acks. */
import { Buffer } from "node:buffer";
import type { FirehoseEvent } from "@bsky/shared/events";
import type { Redis } from "@bsky/shared/redis";
import { APPLY_SCRIPT, INTERN_SCRIPT } from "./apply_script.ts";
import { HOUR_MS, storeKeys, TYPE_CODE } from "./store.ts";

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
}

/** Another process holds the partition now; the batch was not written. */
export class LeaseLostError extends Error {
  override name = "LeaseLostError";
}

type ScriptRedis = Redis & {
  applyOps(...args: (string | number | Uint8Array)[]): Promise<number[]>;
  internDids(...args: string[]): Promise<number[]>;
};

/** Pairs as the script reads them: 5 bytes each, the type then the subject's id (BE). */
function packPairs(pairs: [number, number][]): Buffer {
  // A Buffer, not a bare Uint8Array: ioredis sends only Buffers as bytes.
  const out = Buffer.alloc(pairs.length * 5);
  pairs.forEach(([type, id], k) => {
    out[k * 5] = type;
    out.writeUInt32BE(id, k * 5 + 1);
  });
  return out;
}

const S32 = "234567abcdefghijklmnopqrstuvwxyz";
const TID = /^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$/;

/**
 * A record key as stored in the record memory: a TID (nearly every key) as its 8-byte
 * value, anything else as 0xff and its text (a TID's first byte is below 0x80).
 */
export function rkeyField(rkey: string): Buffer {
  if (!TID.test(rkey)) return Buffer.concat([Buffer.of(0xff), Buffer.from(rkey)]);
  let v = 0n;
  for (const c of rkey) v = (v << 5n) | BigInt(S32.indexOf(c));
  const out = Buffer.alloc(8);
  out.writeBigUInt64BE(v);
  return out;
}

/** The DIDs an event needs ids for. */
function didsOf(e: FirehoseEvent, out: Set<string>): void {
  out.add(e.did);
  if (e.kind !== "commit" || e.action === "delete") return;
  if (e.subject) out.add(e.subject);
  if (e.parent) out.add(e.parent);
  if (e.quote) out.add(e.quote);
  if (e.mentions) { for (const m of e.mentions) out.add(m); }
}

export class Applier {
  #redis: ScriptRedis;
  #ids = new Map<string, number>();

  constructor(redis: Redis, readonly options: ApplyOptions) {
    this.#redis = redis as ScriptRedis;
    if (!("applyOps" in redis)) {
      redis.defineCommand("applyOps", { lua: APPLY_SCRIPT, numberOfKeys: 0 });
      redis.defineCommand("internDids", { lua: INTERN_SCRIPT, numberOfKeys: 3 });
    }
  }

  /** Ids of the given DIDs, from the cache or interned in Redis. */
  async ids(dids: Iterable<string>): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    const missing: string[] = [];
    for (const did of dids) {
      const id = this.#ids.get(did);
      if (id === undefined) missing.push(did);
      else out.set(did, id);
    }
    for (let i = 0; i < missing.length; i += 2000) {
      const chunk = missing.slice(i, i + 2000);
      const ids = await this.#redis.internDids(
        storeKeys.didToId,
        storeKeys.idToDid,
        storeKeys.nextId,
        ...chunk,
      );
      chunk.forEach((did, k) => {
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
    const ops: (string | number | Uint8Array)[] = [];
    for (const e of events) {
      const a = ids.get(e.did)!;
      const hour = Math.floor(e.time / HOUR_MS);
      if (e.kind === "identity") {
        ops.push("h", a, e.seq, e.handle ?? "");
        continue;
      }
      if (e.kind === "account") {
        ops.push("s", a, e.seq, e.active ? "1" : "0", e.status ?? "");
        continue;
      }
      if (e.collection === "app.bsky.actor.profile") {
        if (e.action === "delete") ops.push("p", a, e.seq, "", "");
        else ops.push("p", a, e.seq, e.displayName ?? "", e.avatar ?? "");
        continue;
      }
      if (e.action === "delete") {
        ops.push("d", a, rkeyField(e.rkey), hour);
        continue;
      }
      const pairs: [number, number][] = [];
      const pair = (type: keyof typeof TYPE_CODE, did: string | undefined) => {
        // Self-interactions are not counted.
        if (did !== undefined && did !== e.did) pairs.push([TYPE_CODE[type], ids.get(did)!]);
      };
      switch (e.collection) {
        case "app.bsky.feed.like":
          pair("like", e.subject);
          break;
        case "app.bsky.feed.repost":
          pair("repost", e.subject);
          break;
        case "app.bsky.graph.block":
          pair("block", e.subject);
          break;
        case "app.bsky.graph.follow":
          pair("follow", e.subject);
          break;
        case "app.bsky.feed.post":
          pair("reply", e.parent);
          pair("quote", e.quote);
          for (const m of e.mentions ?? []) pair("mention", m);
          break;
      }
      // A create that counts nothing needs no memory; an update may take counts back.
      if (e.action === "create" && pairs.length === 0) continue;
      ops.push(e.action === "create" ? "c" : "u", a, rkeyField(e.rkey), hour, packPairs(pairs));
    }
    return ops;
  }

  /** The script arguments for applying the events and acknowledging their entries. */
  async prepare(
    events: readonly FirehoseEvent[],
    ack?: AckOptions,
  ): Promise<(string | number | Uint8Array)[]> {
    const dids = new Set<string>();
    for (const e of events) didsOf(e, dids);
    const ids = await this.ids(dids);
    const entryIds = ack?.entryIds ?? [];
    return [
      this.options.retentionDays * 86400,
      this.options.memoryHours * 3600,
      this.options.memoryHours,
      ack?.stream ?? "",
      ack?.group ?? "",
      entryIds.length,
      ack?.lease?.key ?? "",
      ack?.lease?.token ?? "",
      ...entryIds,
      ...this.ops(events, ids),
    ];
  }

  /** Runs prepared arguments: one atomic apply-and-acknowledge. */
  async run(args: (string | number | Uint8Array)[]): Promise<ApplyStats> {
    const [applied, duplicate, unmatched, late] = await this.#redis.applyOps(...args);
    if (applied < 0) {
      throw new LeaseLostError(`Cannot apply a batch of "${args[3]}": the lease is lost`);
    }
    return { applied, duplicate, unmatched, late };
  }

  /**
   * Applies the events and acknowledges `entryIds` of `stream` for `group` in one atomic
   * step. Entry ids may include entries that carry no operation (parked or ignored).
   */
  async apply(events: readonly FirehoseEvent[], ack?: AckOptions): Promise<ApplyStats> {
    return await this.run(await this.prepare(events, ack));
  }
}
