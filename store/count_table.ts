/**
 * Counts per id in `columns` columns, with no object per id: the queries tally
 * counterparts in it, the scheduler's top lists whole accounts.
 */
export class CountTable {
  /** Maps an id to its row, which starts at counts[slot * columns]. */
  slot = new Map<number, number>();
  ids: number[] = [];
  counts: Int32Array;

  constructor(readonly columns: number, rows = 64) {
    this.counts = new Int32Array(columns * rows);
  }

  /** Where `id`'s row starts in `counts` (a new row of zeros for a new id). */
  row(id: number): number {
    let s = this.slot.get(id);
    if (s === undefined) {
      s = this.ids.length;
      this.slot.set(id, s);
      this.ids.push(id);
      if (this.counts.length < (s + 1) * this.columns) {
        const grown = new Int32Array(this.counts.length * 2);
        grown.set(this.counts);
        this.counts = grown;
      }
    }
    return s * this.columns;
  }

  add(id: number, column: number, by: number): void {
    // The row first: making it may replace `counts`.
    const at = this.row(id);
    this.counts[at + column] += by;
  }

  get size(): number {
    return this.ids.length;
  }

  /** Adds another table's counts into this one. */
  merge(other: CountTable): void {
    for (let s = 0; s < other.ids.length; s++) {
      for (let t = 0; t < this.columns; t++) {
        const n = other.counts[s * other.columns + t];
        if (n) this.add(other.ids[s], t, n);
      }
    }
  }
}
