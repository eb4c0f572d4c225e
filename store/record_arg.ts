/**
 * The record operations' arguments for the apply script (apply_script.ts describes them):
 * a record's field in the record memory, its bucket's hash, its hour and its pairs.
 */
import { Buffer } from "node:buffer";
import { keySlot, slotTag } from "@bsky/shared/cluster";

/** Pairs as the script reads them: a uint32 (BE) each, type * 2^28 + the subject's id. */
export function packPairs(pairs: [number, number][]): Buffer {
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

/** The tag of the record memory's keys for an author's records: one of its slot's own. */
export function recordTag(author: number): string {
  return slotTag(keySlot(String(author)));
}

/**
 * A record operation's argument for the script: the 32-bit FNV-1a hash of the record's
 * field (it picks the bucket), the hour, the length of the author's record tag (a byte),
 * the tag (recordTag(), when `bySlot`: on a Redis Cluster the record memory keeps an
 * author's records in its slot; none on one server), the field's length (a byte), the
 * field (the collection's code * 2^28 + the author's id, then the record key), then the
 * pairs. The collection is part of the field because one repo may use the same key in two
 * collections.
 */
export function recordArg(
  author: number,
  collection: string,
  rkey: string,
  hour: number,
  pairs?: Buffer,
  bySlot = false,
): Buffer {
  const tag = bySlot ? recordTag(author) : "";
  // The field starts after X, H, the tag's length, the tag and the field's length.
  const at = 10 + tag.length;
  const tail = pairs?.length ?? 0;
  let out = Buffer.allocUnsafe(at + 12 + tail);
  let flen = 12;
  if (!writeTid(rkey, out, at + 4)) {
    const key = rkeyField(rkey);
    flen = 4 + key.length;
    out = Buffer.allocUnsafe(at + flen + tail);
    key.copy(out, at + 4);
  }
  out.writeUInt32BE((RECORD_COLLECTION[collection] ?? 0) * 2 ** 28 + author, at);
  let h = 0x811c9dc5;
  for (let i = at; i < at + flen; i++) h = Math.imul(h ^ out[i], 0x01000193);
  out.writeUInt32BE(h >>> 0, 0);
  out.writeUInt32BE(hour, 4);
  out[8] = tag.length;
  out.write(tag, 9, "latin1");
  out[at - 1] = flen;
  if (pairs) pairs.copy(out, at + flen);
  return out;
}
