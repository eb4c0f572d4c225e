/**
 * The counterparts a merge of day digests has seen (digest_top.ts), in an open-addressing
 * table with no object per id, and the best of them by a bound.
 */
import { CODES } from "./digest.ts";

/**
 * Per counterpart, in an open-addressing table (no object per id): COLUMNS integer counts
 * (what the logs hold in the window, then what the heads hold, CODES each) and the bounds
 * of the lists the heads showed it in (one per direction).
 */
export const EXACT = 0, HEAD = CODES, COLUMNS = 2 * CODES;
export class Candidates {
  #keys = new Int32Array(1024).fill(-1);
  #rows = new Int32Array(1024);
  #mask = 1023;
  ids: number[] = [];
  counts = new Int32Array(64 * COLUMNS);
  seenBound = new Float64Array(64 * 2);

  /** The row of `id` (made when new): its counts start at row * COLUMNS. */
  row(id: number): number {
    let h = (Math.imul(id, 0x9e3779b1) >>> 0) & this.#mask;
    while (true) {
      const k = this.#keys[h];
      if (k === id) return this.#rows[h];
      if (k === -1) break;
      h = (h + 1) & this.#mask;
    }
    const s = this.ids.length;
    this.#keys[h] = id;
    this.#rows[h] = s;
    this.ids.push(id);
    if (this.counts.length < (s + 1) * COLUMNS) {
      const grown = new Int32Array(this.counts.length * 2);
      grown.set(this.counts);
      this.counts = grown;
      const bounds = new Float64Array(this.seenBound.length * 2);
      bounds.set(this.seenBound);
      this.seenBound = bounds;
    }
    if (this.ids.length * 2 > this.#mask) this.#grow();
    return s;
  }

  #grow() {
    const size = (this.#mask + 1) * 2;
    this.#keys = new Int32Array(size).fill(-1);
    this.#rows = new Int32Array(size);
    this.#mask = size - 1;
    this.ids.forEach((id, s) => {
      let h = (Math.imul(id, 0x9e3779b1) >>> 0) & this.#mask;
      while (this.#keys[h] !== -1) h = (h + 1) & this.#mask;
      this.#keys[h] = id;
      this.#rows[h] = s;
    });
  }

  get size(): number {
    return this.ids.length;
  }
}
