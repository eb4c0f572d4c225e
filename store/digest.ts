/**
 * Day digests of heavy accounts (`dg:{A}:<week>`, see layout.ts): what the rolled-up part
 * of a week's log holds for each day, in a form a reader can take the best counterparts
 * from without decoding the whole log: a day's day cells once it is rolled up, the sum of
 * its hour cells before (for the current day, those of its hours over at the roll-up). The roll-up (rollup.ts) writes them, in the same
 * script that swaps the log's rolled-up part in (for a large log, staged apart and renamed
 * into place by that script), for the logs that hold at least
 * DIGEST_MIN_HELD interactions (and keeps them up to date for the rest of the week once it
 * has); the circles' read (digest_top.ts) merges them exactly. Ordinary accounts never
 * have one.
 *
 * A digest is a hash with these fields:
 * - `x`, the index: format (1 byte), generation (uint32, one more at every swap), the log's
 *   rolled-up length after the swap (uint32), the days digested (a bit each), those of them
 *   still in hour cells, the days whose digest cannot be used (a count below zero: readers
 *   scan the log instead), the last hour of the week rolled up (a byte), the weights the
 *   heads are ranked by (5 float64), then each day's bucket count (7 uint32): 81 bytes.
 * - `h<d>`, day d's heads: the byte length of the sent head (uint32), the bound of each
 *   direction past its head (2 float64), then the sent head and the received head. A head
 *   holds a direction's counterparts by score at the index's weights, highest first (ties
 *   by id), as long as it fits HEAD_BYTES, and always whole runs of one score: every
 *   counterpart left out scores at most the bound (0 when none is left out).
 * - `b<d>:<k>`, bucket k of day d: every counterpart of the day whose id hashes to k
 *   (bucketOf), ascending, with its counts of both directions; about BUCKET_RECORDS each.
 *
 * A record is the id (uint32), then its counts: one byte below 0x80 for a single count of
 * 1 (the code received * 5 + type - 1), else 0x80 | the 10-bit mask of the codes that
 * follow (2 bytes), then each count as a varint. Counts are day cells' counts, so above 0.
 */
import { readVarint, varintEnd } from "./varint.ts";

/** Interactions a week's log must hold (deletes counted too) for the roll-up to digest it. */
export const DIGEST_MIN_HELD = 100_000;
/** Bytes of each head (per direction and day). */
export const HEAD_BYTES = 24 * 1024;
/** Counterparts per bucket, about. */
export const BUCKET_RECORDS = 64;
const FORMAT = 1;
const INDEX_BYTES = 81;
/** Counts of a counterpart in a day: sent types 1-5, then received types 1-5. */
export const CODES = 10;

export interface DigestIndex {
  gen: number;
  /** The log's rolled-up length when the digest was written. */
  rolled: number;
  /** Days (bit d) digested: every day over at the swap with counts in the rolled-up part. */
  days: number;
  /** Those of them in hour cells (not rolled up into day cells yet). */
  hourDays: number;
  /** Days whose digest cannot be used. */
  unusable: number;
  /** The last hour of the week the roll-up had taken in (hour cells go no further). */
  lastHour: number;
  /** The weights the heads are ranked by. */
  weights: number[];
  /** Bucket count of each day. */
  buckets: number[];
}

export function encodeIndex(x: DigestIndex): Uint8Array {
  const out = new Uint8Array(INDEX_BYTES);
  const v = new DataView(out.buffer);
  out[0] = FORMAT;
  v.setUint32(1, x.gen);
  v.setUint32(5, x.rolled);
  out[9] = x.days;
  out[10] = x.hourDays;
  out[11] = x.unusable;
  out[12] = x.lastHour;
  x.weights.forEach((w, t) => v.setFloat64(13 + 8 * t, w));
  x.buckets.forEach((n, d) => v.setUint32(53 + 4 * d, n));
  return out;
}

/** The index, or undefined for anything else (another format: the digest is not used). */
export function decodeIndex(bytes: Uint8Array | null | undefined): DigestIndex | undefined {
  if (!bytes || bytes.length !== INDEX_BYTES || bytes[0] !== FORMAT) return undefined;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    gen: v.getUint32(1),
    rolled: v.getUint32(5),
    days: bytes[9],
    hourDays: bytes[10],
    unusable: bytes[11],
    lastHour: bytes[12],
    weights: Array.from({ length: 5 }, (_, t) => v.getFloat64(13 + 8 * t)),
    buckets: Array.from({ length: 7 }, (_, d) => v.getUint32(53 + 4 * d)),
  };
}

/** The bucket of an id among n (a multiplicative hash, scaled to n). */
export function bucketOf(id: number, n: number): number {
  return Math.floor(((Math.imul(id, 0x9e3779b1) >>> 0) / 4294967296) * n);
}

/** Field names of a digest. */
export const digestFields = {
  index: "x",
  heads: (day: number) => `h${day}`,
  bucket: (day: number, k: number) => `b${day}:${k}`,
};

/** A growing byte buffer. */
class Bytes {
  buf = new Uint8Array(256);
  length = 0;
  #room(n: number) {
    if (this.length + n <= this.buf.length) return;
    const grown = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    grown.set(this.buf.subarray(0, this.length));
    this.buf = grown;
  }
  byte(b: number) {
    this.#room(1);
    this.buf[this.length++] = b;
  }
  u32(n: number) {
    this.#room(4);
    new DataView(this.buf.buffer).setUint32(this.length, n);
    this.length += 4;
  }
  f64(n: number) {
    this.#room(8);
    new DataView(this.buf.buffer).setFloat64(this.length, n);
    this.length += 8;
  }
  varint(n: number) {
    while (n >= 128) {
      this.byte((n % 128) | 0x80);
      n = Math.floor(n / 128);
    }
    this.byte(n);
  }
  /** A record: the id, then the counts at codes [from, to) of counts[at...]. */
  record(id: number, counts: Int32Array, at: number, from: number, to: number) {
    this.u32(id);
    let mask = 0, single = -1;
    for (let c = from; c < to; c++) {
      if (counts[at + c] === 0) continue;
      mask |= 1 << c;
      single = mask === 1 << c && counts[at + c] === 1 ? c : -2;
    }
    if (single >= 0) return this.byte(single);
    this.byte(0x80 | (mask >> 8));
    this.byte(mask & 0xff);
    for (let c = from; c < to; c++) if (counts[at + c] !== 0) this.varint(counts[at + c]);
  }
  bytes(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

/**
 * Reads the records of `bytes` from `at` to `end`: calls `visit` with each id and the
 * offset of its counts in `into` (CODES of them, zeroed first). Returns nothing; throws on
 * a record cut short.
 */
export function readRecords(
  bytes: Uint8Array,
  at: number,
  end: number,
  into: Int32Array,
  visit: (id: number) => void,
): void {
  let p = at;
  while (p < end) {
    if (p + 5 > end) throw new RangeError("A digest record is cut short");
    const id = ((bytes[p] << 24) | (bytes[p + 1] << 16) | (bytes[p + 2] << 8) | bytes[p + 3]) >>>
      0;
    p += 4;
    into.fill(0);
    const b = bytes[p++];
    if (b < 0x80) into[b] = 1;
    else {
      const mask = ((b & 0x7f) << 8) | bytes[p++];
      for (let c = 0; c < CODES; c++) {
        if (!(mask & (1 << c))) continue;
        into[c] = readVarint(bytes, p);
        p = varintEnd;
      }
    }
    if (p > end) throw new RangeError("A digest record is cut short");
    visit(id);
  }
}

/** Bytes of a record of the counts at codes [from, to) of counts[at...] (see Bytes.record). */
function recordSize(counts: Int32Array, at: number, from: number, to: number): number {
  let size = 6, nonzero = 0, last = 0;
  for (let c = from; c < to; c++) {
    let n = counts[at + c];
    if (n === 0) continue;
    nonzero++;
    last = n;
    do {
      size++;
      n = Math.floor(n / 128);
    } while (n > 0);
  }
  return nonzero === 1 && last === 1 ? 5 : size;
}

/** One day's counts by counterpart: ids and CODES counts each. */
export interface DayRows {
  ids: number[];
  counts: Int32Array;
}

/** A day's digest fields: its heads and buckets; undefined when a count is below zero. */
export function buildDay(
  rows: DayRows,
  weights: readonly number[],
  headBytes = HEAD_BYTES,
): { heads: Uint8Array; buckets: Uint8Array[] } | undefined {
  const { ids, counts } = rows;
  const n = ids.length;
  for (let k = 0; k < n * CODES; k++) if (counts[k] < 0) return undefined;
  const heads = new Bytes();
  heads.u32(0);
  heads.f64(0);
  heads.f64(0);
  for (const dir of [0, 1]) {
    const score = new Float64Array(n);
    const order: number[] = [];
    for (let s = 0; s < n; s++) {
      let v = 0;
      for (let t = 0; t < 5; t++) v += counts[s * CODES + dir * 5 + t] * weights[t];
      score[s] = v;
      if (v > 0) order.push(s);
    }
    order.sort((a, b) => score[b] - score[a] || ids[a] - ids[b]);
    // As many as fit, ending with a whole run of one score.
    const start = heads.length;
    let fit = 0, bytes = 0;
    for (; fit < order.length; fit++) {
      const size = recordSize(counts, order[fit] * CODES, dir * 5, dir * 5 + 5);
      if (bytes + size > headBytes) break;
      bytes += size;
    }
    if (fit < order.length) {
      while (fit > 0 && score[order[fit - 1]] === score[order[fit]]) fit--;
    }
    for (let k = 0; k < fit; k++) {
      const s = order[k];
      heads.record(ids[s], counts, s * CODES, dir * 5, dir * 5 + 5);
    }
    const bound = fit < order.length ? score[order[fit]] : 0;
    const v = new DataView(heads.buf.buffer);
    if (dir === 0) v.setUint32(0, heads.length - start);
    v.setFloat64(4 + 8 * dir, bound);
  }
  const nb = Math.max(1, Math.ceil(n / BUCKET_RECORDS));
  const byBucket: number[][] = Array.from({ length: nb }, () => []);
  for (let s = 0; s < n; s++) {
    // A counterpart with only blocks that day has nothing a score counts.
    if (counts.subarray(s * CODES, s * CODES + CODES).some((c) => c !== 0)) {
      byBucket[bucketOf(ids[s], nb)].push(s);
    }
  }
  const buckets = byBucket.map((slots) => {
    slots.sort((a, b) => ids[a] - ids[b]);
    const out = new Bytes();
    for (const s of slots) out.record(ids[s], counts, s * CODES, 0, CODES);
    return out.bytes();
  });
  return { heads: heads.bytes(), buckets };
}

/** A day's heads as read back: each direction's records and its bound. */
export interface Heads {
  bounds: [number, number];
  /** Where each direction's records start and end in `bytes`. */
  ranges: [[number, number], [number, number]];
  bytes: Uint8Array;
}

export function decodeHeads(bytes: Uint8Array): Heads {
  if (bytes.length < 20) throw new RangeError("A digest's heads are cut short");
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const sent = v.getUint32(0);
  if (20 + sent > bytes.length) throw new RangeError("A digest's heads are cut short");
  return {
    bounds: [v.getFloat64(4), v.getFloat64(12)],
    ranges: [[20, 20 + sent], [20 + sent, bytes.length]],
    bytes,
  };
}
