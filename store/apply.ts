/** Turns firehose events into store operations and applies them atomically with their acks. */
import { Buffer } from "node:buffer";
import type { FirehoseEvent } from "@bsky/shared/events";
import { LANG, languageCode } from "@bsky/shared/langs";
import type { Redis } from "@bsky/shared/redis";
import { APPLY_SCRIPT, INTERN_SCRIPT } from "./apply_script.ts";
import {
  BLOCK_MINUTE,
  didKey,
  HOUR_MS,
  MAX_ID,
  POST_LANGUAGE,
  storeKeys,
  TYPE_CODE,
} from "./layout.ts";
import { defineScript } from "./lua.ts";

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
};

/** Pairs as the script reads them: a uint32 (BE) each, type * 2^28 + the subject's id. */
function packPairs(pairs: [number, number][]): Buffer {
  // A Buffer, not a bare Uint8Array: ioredis sends only Buffers as bytes.
  const out = Buffer.alloc(pairs.length * 4);
  pairs.forEach(([type, id], k) => out.writeUInt32BE(type * 2 ** 28 + id, k * 4));
  return out;
}

const S32 = "234567abcdefghijklmnopqrstuvwxyz";
const S32_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < S32.length; i++) S32_VALUE[S32.charCodeAt(i)] = i;

/** A TID's 64-bit value written at `at`, or false when `rkey` is not a TID. */
function writeTid(rkey: string, out: Buffer, at: number): boolean {
  if (rkey.length !== 13) return false;
  let hi = 0, lo = 0;
  for (let i = 0; i < 13; i++) {
    const code = rkey.charCodeAt(i);
    const v = code < 128 ? S32_VALUE[code] : -1;
    // The first character carries 4 bits (a TID's top bit is 0).
    if (v < 0 || (i === 0 && v >= 16)) return false;
    hi = hi * 32 + (lo >>> 27);
    lo = ((lo << 5) | v) >>> 0;
  }
  out.writeUInt32BE(hi, at);
  out.writeUInt32BE(lo, at + 4);
  return true;
}

/**
 * A record key as stored in the record memory: a TID (nearly every key) as its 8-byte
 * value, anything else as 0xff and its text (a TID's first byte is below 0x80).
 */
export function rkeyField(rkey: string): Buffer {
  const out = Buffer.alloc(8);
  if (writeTid(rkey, out, 0)) return out;
  return Buffer.concat([Buffer.of(0xff), Buffer.from(rkey)]);
}

/** Codes of the collections the record memory keeps, in the top 4 bits of a field. */
const RECORD_COLLECTION: Record<string, number> = {
  "app.bsky.feed.like": 1,
  "app.bsky.feed.repost": 2,
  "app.bsky.feed.post": 3,
  "app.bsky.graph.block": 4,
  "app.bsky.graph.follow": 5,
};

/**
 * A record operation's argument for the script: the 32-bit FNV-1a hash of the record's
 * field (it picks the bucket), the hour, the field's length, the field (the collection's
 * code * 2^28 + the author's id, then the record key), then the pairs. The collection is
 * part of the field because one repo may use the same key in two collections.
 */
export function recordArg(
  author: number,
  collection: string,
  rkey: string,
  hour: number,
  pairs?: Buffer,
): Buffer {
  const tail = pairs?.length ?? 0;
  let out = Buffer.allocUnsafe(9 + 12 + tail);
  let flen = 12;
  if (!writeTid(rkey, out, 13)) {
    const key = rkeyField(rkey);
    flen = 4 + key.length;
    out = Buffer.allocUnsafe(9 + flen + tail);
    key.copy(out, 13);
  }
  out.writeUInt32BE((RECORD_COLLECTION[collection] ?? 0) * 2 ** 28 + author, 9);
  let h = 0x811c9dc5;
  for (let i = 9; i < 9 + flen; i++) h = Math.imul(h ^ out[i], 0x01000193);
  out.writeUInt32BE(h >>> 0, 0);
  out.writeUInt32BE(hour, 4);
  out[8] = flen;
  if (pairs) pairs.copy(out, 9 + flen);
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
  /** The interning's epoch the cached ids were read at (see IdsChangedError). */
  #epoch: string | undefined;
  /** What prepared arguments were made of, to make them again after ids changed. */
  #prepared = new WeakMap<unknown[], [readonly FirehoseEvent[], AckOptions | undefined]>();

  constructor(redis: Redis, readonly options: ApplyOptions) {
    this.#redis = redis as ScriptRedis;
    defineScript(redis, "applyOps", APPLY_SCRIPT);
    defineScript(redis, "internDids", INTERN_SCRIPT, 2);
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
        ops.push("d", recordArg(a, e.collection, e.rkey, hour));
        continue;
      }
      if (e.opt !== undefined && e.action === "create") ops.push("o", a, e.did, e.opt);
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
          // The minute in its hour, for the order of blocks as they stand (not a counterpart).
          if (pairs.length > 0) pairs.push([BLOCK_MINUTE, Math.floor(e.time / 60_000) % 60]);
          break;
        case "app.bsky.graph.follow":
          pair("follow", e.subject);
          break;
        case "app.bsky.feed.post":
          pair("reply", e.parent);
          pair("quote", e.quote);
          for (const m of e.mentions ?? []) pair("mention", m);
          // Its languages, counted per hour (not counterparts).
          for (const lang of e.langs ?? []) {
            if (LANG.test(lang)) pairs.push([POST_LANGUAGE, languageCode(lang)]);
          }
          break;
      }
      // A create that counts nothing needs no memory; an update may take counts back.
      if (e.action === "create" && pairs.length === 0) continue;
      const arg = recordArg(a, e.collection, e.rkey, hour, packPairs(pairs));
      ops.push(e.action === "create" ? "c" : "u", arg);
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
        const [applied, duplicate, unmatched, late] = await this.#redis.applyOps(...args);
        if (applied < 0) {
          throw new LeaseLostError(`Cannot apply a batch of "${args[3]}": the lease is lost`);
        }
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
