import assert from "node:assert/strict";
import { CountTable } from "./count_table.ts";

Deno.test("CountTable keeps a row per id, grows as ids come, and merges by id", () => {
  const a = new CountTable(3, 2);
  a.add(10, 0, 1);
  a.add(20, 2, 5);
  a.add(10, 0, 2);
  // More ids than the first rows: it grows, counts kept.
  for (let id = 100; id < 110; id++) a.add(id, 1, id);
  assert.equal(a.size, 12);
  assert.deepEqual(a.ids.slice(0, 3), [10, 20, 100]);
  assert.deepEqual([...a.counts.subarray(a.row(10), a.row(10) + 3)], [3, 0, 0]);
  assert.deepEqual([...a.counts.subarray(a.row(20), a.row(20) + 3)], [0, 0, 5]);
  assert.equal(a.counts[a.row(109) + 1], 109);
  const b = new CountTable(3);
  b.add(20, 2, -5);
  b.add(30, 1, 4);
  a.merge(b);
  assert.deepEqual([...a.counts.subarray(a.row(20), a.row(20) + 3)], [0, 0, 0]);
  assert.deepEqual([...a.counts.subarray(a.row(30), a.row(30) + 3)], [0, 4, 0]);
  assert.equal(a.size, 13);
  assert.equal(a.slot.get(30), 12);
  // row() of a new id makes a row of zeros.
  assert.deepEqual([...a.counts.subarray(a.row(40), a.row(40) + 3)], [0, 0, 0]);
});
