/**
 * Reads only the parts of a DAG-CBOR value that a shape asks for. Everything else is
 * stepped over without making objects, which is most of a frame: MST blocks, commit and
 * prevData CIDs, blobs, and the fields of records that no count needs. Leaves the shape
 * names, and any value whose type differs from the shape, are decoded in full, so code
 * reading the result sees exactly what a full decode would have given it.
 */
import { Buffer } from "node:buffer";
import { CidLinkWrapper, decodeFirst } from "@atcute/cbor";

/** 1 = decode this value in full; an object = a map, keep these keys; [s] = an array of s. */
export type Shape = 1 | { readonly [key: string]: Shape } | readonly [Shape];

const MAX_DEPTH = 64;
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();
// Node's native slicers are several times faster than TextDecoder on short strings.
const { latin1Slice, utf8Slice } = Buffer.prototype as unknown as {
  latin1Slice(this: Uint8Array, start: number, end: number): string;
  utf8Slice(this: Uint8Array, start: number, end: number): string;
};

/** A shape ready for matching: map keys as UTF-8 bytes, so keys are never decoded. */
type Compiled =
  | 1
  | { map: true; keys: Uint8Array[]; names: string[]; subs: Compiled[] }
  | { map: false; item: Compiled };

const compiled = new WeakMap<object, Compiled>();

function compile(shape: Shape): Compiled {
  if (shape === 1) return 1;
  let c = compiled.get(shape);
  if (c) return c;
  if (Array.isArray(shape)) c = { map: false, item: compile(shape[0]) };
  else {
    const names = Object.keys(shape).filter((k) => k !== "__proto__");
    const map = shape as { readonly [key: string]: Shape };
    c = {
      map: true,
      keys: names.map((n) => encoder.encode(n)),
      names,
      subs: names.map((n) => compile(map[n])),
    };
  }
  compiled.set(shape, c);
  return c;
}

class Reader {
  p = 0;
  constructor(readonly b: Uint8Array) {}

  need(n: number): void {
    if (this.p + n > this.b.length) throw new RangeError("unexpected end of input");
  }

  /** Reads a head's argument for additional info `info`. */
  arg(info: number): number {
    const b = this.b;
    if (info < 24) return info;
    switch (info) {
      case 24:
        this.need(1);
        return b[this.p++];
      case 25: {
        this.need(2);
        const v = (b[this.p] << 8) | b[this.p + 1];
        this.p += 2;
        return v;
      }
      case 26: {
        this.need(4);
        const v =
          ((b[this.p] << 24) | (b[this.p + 1] << 16) | (b[this.p + 2] << 8) | b[this.p + 3]) >>>
          0;
        this.p += 4;
        return v;
      }
      case 27: {
        this.need(8);
        const hi =
          ((b[this.p] << 24) | (b[this.p + 1] << 16) | (b[this.p + 2] << 8) | b[this.p + 3]) >>>
          0;
        const lo = ((b[this.p + 4] << 24) | (b[this.p + 5] << 16) | (b[this.p + 6] << 8) |
          b[this.p + 7]) >>> 0;
        if (hi > 0x1fffff) throw new RangeError("integer beyond the safe range");
        this.p += 8;
        return hi * 2 ** 32 + lo;
      }
      default:
        throw new TypeError(`invalid argument encoding ${info}`);
    }
  }

  text(length: number): string {
    this.need(length);
    const b = this.b;
    const start = this.p, end = start + length;
    this.p = end;
    let acc = 0;
    for (let i = start; i < end; i++) acc |= b[i];
    if (acc < 0x80) return latin1Slice.call(b, start, end);
    const s = utf8Slice.call(b, start, end);
    // The fast slicer replaces bad sequences; only then pay for the strict check.
    return s.includes("\ufffd") ? strictUtf8.decode(b.subarray(start, end)) : s;
  }

  /** Steps over one item. */
  skip(depth: number): void {
    if (depth > MAX_DEPTH) throw new RangeError("nesting too deep");
    this.need(1);
    const ib = this.b[this.p++];
    const major = ib >> 5, info = ib & 0x1f;
    if (major === 7) {
      if (info < 24) return;
      const n = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : -1;
      if (n < 0) throw new TypeError(`invalid simple value ${info}`);
      this.need(n);
      this.p += n;
      return;
    }
    const arg = this.arg(info);
    switch (major) {
      case 0:
      case 1:
        return;
      case 2:
      case 3:
        this.need(arg);
        this.p += arg;
        return;
      case 4:
        for (let i = 0; i < arg; i++) this.skip(depth + 1);
        return;
      case 5:
        for (let i = 0; i < arg * 2; i++) this.skip(depth + 1);
        return;
      case 6:
        return this.skip(depth + 1);
    }
  }

  /** Decodes one item in full. */
  full(): unknown {
    const b = this.b;
    this.need(1);
    const ib = b[this.p];
    const major = ib >> 5, info = ib & 0x1f;
    // Fast paths for the leaves that matter: strings, small integers, booleans, null, CIDs.
    if (major === 3) {
      this.p++;
      return this.text(this.arg(info));
    }
    if (major === 0 && info < 24) {
      this.p++;
      return info;
    }
    if (ib === 0xf4 || ib === 0xf5 || ib === 0xf6) {
      this.p++;
      return ib === 0xf6 ? null : ib === 0xf5;
    }
    if (ib === 0xd8 && b[this.p + 1] === 42 && b[this.p + 2] >> 5 === 2) {
      const start = this.p;
      this.p += 3;
      const len = this.arg(b[this.p - 1] & 0x1f);
      this.need(len);
      if (len < 2 || b[this.p] !== 0) {
        this.p = start;
      } else {
        const cid = b.subarray(this.p + 1, this.p + len);
        this.p += len;
        return new CidLinkWrapper(cid);
      }
    }
    const rest = b.subarray(this.p);
    const [value, remainder] = decodeFirst(rest);
    this.p += rest.length - remainder.length;
    return value;
  }

  /** Decodes one item as the compiled shape says. */
  project(shape: Compiled, depth: number): unknown {
    if (shape === 1) return this.full();
    if (depth > MAX_DEPTH) throw new RangeError("nesting too deep");
    this.need(1);
    const b = this.b;
    const ib = b[this.p];
    const major = ib >> 5;
    if (!shape.map) {
      if (major !== 4) return this.full();
      this.p++;
      const n = this.arg(ib & 0x1f);
      const out: unknown[] = [];
      for (let i = 0; i < n; i++) out.push(this.project(shape.item, depth + 1));
      return out;
    }
    if (major !== 5) return this.full();
    this.p++;
    const n = this.arg(ib & 0x1f);
    const out: Record<string, unknown> = {};
    const { keys, names, subs } = shape;
    for (let i = 0; i < n; i++) {
      this.need(1);
      const kb = b[this.p++];
      if (kb >> 5 !== 3) throw new TypeError("map key is not a string");
      const len = this.arg(kb & 0x1f);
      this.need(len);
      const at = this.p;
      this.p += len;
      let k = 0;
      for (; k < keys.length; k++) {
        const key = keys[k];
        if (key.length !== len) continue;
        let same = true;
        for (let j = 0; j < len; j++) {
          if (b[at + j] !== key[j]) {
            same = false;
            break;
          }
        }
        if (same) break;
      }
      if (k === keys.length) this.skip(depth + 1);
      else out[names[k]] = this.project(subs[k], depth + 1);
    }
    return out;
  }
}

/** Decodes the first item of `bytes` as the shape says; returns it and the bytes after it. */
export function projectFirst(bytes: Uint8Array, shape: Shape): [unknown, Uint8Array] {
  const r = new Reader(bytes);
  const value = r.project(compile(shape), 0);
  return [value, bytes.subarray(r.p)];
}

/** Decodes a whole item as the shape says; trailing bytes are an error. */
export function project(bytes: Uint8Array, shape: Shape): unknown {
  const [value, rest] = projectFirst(bytes, shape);
  if (rest.length !== 0) throw new TypeError("trailing bytes after the value");
  return value;
}
