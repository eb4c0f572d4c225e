import assert from "node:assert/strict";
import {
  bucketOf,
  buildDay,
  CODES,
  decodeHeads,
  decodeIndex,
  type DigestIndex,
  encodeIndex,
  readRecords,
} from "./digest.ts";
import { HOUR_MS, storeKeys, WEEK_HOURS } from "./layout.ts";
import { isPastRetention, storeExpiry } from "./retention.ts";

const WEIGHTS = [1, 2, 3, 3, 2];

/** Rows of a day: [id, sent counts, received counts]. */
function rows(list: [number, number[], number[]][]) {
  const counts = new Int32Array(list.length * CODES);
  list.forEach(([, sent, received], s) => {
    counts.set(sent, s * CODES);
    counts.set(received, s * CODES + 5);
  });
  return { ids: list.map(([id]) => id), counts };
}

/** A direction's records of decoded heads: [id, five counts]. */
function records(bytes: Uint8Array, [start, end]: [number, number], side: number) {
  const out: [number, number[]][] = [];
  const row = new Int32Array(CODES);
  readRecords(
    bytes,
    start,
    end,
    row,
    (id) => out.push([id, [...row.slice(side * 5, side * 5 + 5)]]),
  );
  return out;
}

Deno.test("a digest's index reads back as written, and another format is not read", () => {
  const index: DigestIndex = {
    gen: 4_000_000_000,
    rolled: 123_456,
    days: 0b1011,
    hourDays: 0b1000,
    unusable: 0b10,
    lastHour: 167,
    weights: [1, 2, 3, 3, 2.5],
    buckets: [1, 0, 7, 300, 0, 0, 0],
  };
  assert.deepEqual(decodeIndex(encodeIndex(index)), index);
  const other = encodeIndex(index);
  other[0] = 2;
  assert.equal(decodeIndex(other), undefined);
  assert.equal(decodeIndex(null), undefined);
  assert.equal(decodeIndex(new Uint8Array(5)), undefined);
});

Deno.test("a day's heads rank by score with whole runs of one score, and bound what they leave out", () => {
  // Received scores: id 9 → 12, ids 3, 5, 7 → 6 (a run), id 2 → 3, id 4 → 1; sent: id 2 only.
  const day = rows([
    [9, [0, 0, 0, 0, 0], [0, 0, 4, 0, 0]],
    [7, [0, 0, 0, 0, 0], [6, 0, 0, 0, 0]],
    [3, [0, 0, 0, 0, 0], [0, 3, 0, 0, 0]],
    [5, [0, 0, 0, 0, 0], [2, 2, 0, 0, 0]],
    [2, [1, 0, 0, 0, 0], [1, 1, 0, 0, 0]],
    [4, [0, 0, 0, 0, 0], [1, 0, 0, 0, 0]],
  ]);
  // Room for the best one and two of the run: the run is left out whole.
  const small = decodeHeads(buildDay(day, WEIGHTS, 5 + 6 + 6 + 6 - 1)!.heads);
  assert.deepEqual(records(small.bytes, small.ranges[1], 1), [[9, [0, 0, 4, 0, 0]]]);
  assert.deepEqual(small.bounds, [0, 6], "the sent head is whole; the run's score bounds the rest");
  assert.deepEqual(records(small.bytes, small.ranges[0], 0), [[2, [1, 0, 0, 0, 0]]]);
  // Room for the run: ties by id.
  const more = decodeHeads(buildDay(day, WEIGHTS, 5 + 3 * 6 + 6)!.heads);
  assert.deepEqual(records(more.bytes, more.ranges[1], 1).map(([id]) => id), [9, 3, 5, 7]);
  assert.deepEqual(more.bounds, [0, 3]);
  const all = decodeHeads(buildDay(day, WEIGHTS, 1 << 20)!.heads);
  assert.deepEqual(records(all.bytes, all.ranges[1], 1).map(([id]) => id), [9, 3, 5, 7, 2, 4]);
  assert.deepEqual(all.bounds, [0, 0], "nothing left out");
});

Deno.test("a day's buckets hold every counterpart once, by id, with both directions' counts", () => {
  const list: [number, number[], number[]][] = [];
  for (let id = 1; id <= 500; id++) {
    list.push([id * 7919, [id % 3, 0, id % 2, 0, 0], [1, 0, 0, id % 5 === 0 ? 200 : 0, 0]]);
  }
  list.push([999_999, [0, 0, 0, 0, 0], [0, 0, 0, 0, 0]]); // only blocks that day
  const built = buildDay(rows(list), WEIGHTS)!;
  assert.ok(built.buckets.length >= 8, "about 64 a bucket");
  const found = new Map<number, number[]>();
  const row = new Int32Array(CODES);
  built.buckets.forEach((bytes, b) => {
    let last = -1;
    readRecords(bytes, 0, bytes.length, row, (id) => {
      assert.equal(bucketOf(id, built.buckets.length), b);
      assert.ok(id > last, "ascending ids");
      last = id;
      assert.ok(!found.has(id));
      found.set(id, [...row]);
    });
  });
  assert.equal(found.size, 500);
  for (const [id, sent, received] of list.slice(0, 500)) {
    assert.deepEqual(found.get(id), [...sent, ...received], `id ${id}`);
  }
});

Deno.test("a day with a count below zero has no digest", () => {
  assert.equal(buildDay(rows([[5, [1, 0, 0, 0, 0], [0, -1, 0, 0, 0]]]), WEIGHTS), undefined);
});

Deno.test("digests expire with their week's log and go with it past the retention", () => {
  const week = 2900;
  const options = { retentionDays: 30, now: (week * WEEK_HOURS + 12) * HOUR_MS };
  for (const w of [week, week - 3, week - 6]) {
    assert.equal(
      storeExpiry(storeKeys.digest(42, w), options),
      storeExpiry(storeKeys.log(42, w), options),
    );
    assert.equal(
      isPastRetention(storeKeys.digest(42, w), options),
      isPastRetention(storeKeys.log(42, w), options),
    );
  }
  assert.ok(isPastRetention(storeKeys.digest(42, week - 6), options));
  assert.ok(!isPastRetention(storeKeys.digest(42, week - 5), options));
});
