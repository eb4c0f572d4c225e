import assert from "node:assert/strict";
import {
  ENTRY_BYTES,
  firstHourCellDay,
  rolledLength,
  rollUpLog,
  scanLog,
  WEEK_HOURS,
} from "./log.ts";

/** One log entry as the apply script appends it (40 bits, big-endian). */
function entry(id: number, received: boolean, type: number, hour: number, undo = false) {
  const v = id * 4096 + (received ? 2048 : 0) + (undo ? 1024 : 0) + (type - 1) * 168 + hour;
  const hi = Math.floor(v / 2 ** 32), lo = v % 2 ** 32;
  return [hi, (lo >>> 24) & 255, (lo >>> 16) & 255, (lo >>> 8) & 255, lo & 255];
}

/** Counts by "counterpart received type" in the hours [from, to]. */
function counts(log: Uint8Array, from = 0, to = WEEK_HOURS - 1): Record<string, number> {
  const out: Record<string, number> = {};
  scanLog(log, from, to, (cp, received, type, by) => {
    const k = `${cp} ${received ? "r" : "s"} ${type}`;
    out[k] = (out[k] ?? 0) + by;
    if (out[k] === 0) delete out[k];
  });
  return out;
}

const LIKE = 1, REPOST = 2, REPLY = 3, MENTION = 5;
const raw = new Uint8Array([
  ...Array(5).fill(entry(5, false, LIKE, 3)).flat(), // five likes to 5 in hour 3
  ...entry(5, true, REPLY, 3),
  ...entry(11, false, LIKE, 4, true), // a like taken back whose create is in no log
  ...entry(9, false, LIKE, 30),
  ...entry(9, false, LIKE, 30, true), // ...and one with its create
  ...entry(9, true, REPOST, 40),
  ...entry(700_000, false, MENTION, 2),
  ...entry(5, false, LIKE, 100),
]);

Deno.test("scanLog() visits each entry with its counterpart, direction, type, sign and hour", () => {
  const seen: unknown[] = [];
  scanLog(raw, 30, 100, (...args) => seen.push(args));
  assert.deepEqual(seen, [
    [9, false, LIKE, 1, 30],
    [9, false, LIKE, -1, 30],
    [9, true, REPOST, 1, 40],
    [5, false, LIKE, 1, 100],
  ]);
  assert.deepEqual(counts(raw, 0, 4), {
    "5 s 1": 5,
    "5 r 3": 1,
    "11 s 1": -1,
    "700000 s 5": 1,
  });
  assert.equal(rolledLength(raw), 0, "nothing rolled up yet");
});

Deno.test("rollUpLog() turns closed hours into hour cells and days into day cells, counts unchanged", () => {
  // Day 0 becomes day cells, hours 24-50 hour cells; hour 100 stays an entry.
  const rolled = rollUpLog(raw, 23, 50)!;
  assert.ok(rolled, "something to roll up");
  assert.ok(rolledLength(rolled) > 0);
  assert.equal(rolled.length, rolledLength(rolled) + ENTRY_BYTES, "one entry left as it was");
  assert.deepEqual([...rolled.subarray(rolledLength(rolled))], entry(5, false, LIKE, 100));
  assert.ok(rolled.length < raw.length, `${rolled.length} < ${raw.length} bytes`);
  assert.equal(firstHourCellDay(rolled), 1, "day 1 keeps its hours apart");
  // Whole-week and whole-day answers stay; the like and its undo in hour 30 are gone.
  assert.deepEqual(counts(rolled), counts(raw));
  assert.deepEqual(counts(rolled, 0, 23), counts(raw, 0, 23));
  assert.deepEqual(counts(rolled, 40, 40), { "9 r 2": 1 }, "hour cells stay exact");
  assert.deepEqual(counts(rolled, 30, 30), {});
  // A rolled-up day counts whole when at least 12 of its hours are asked for, else not.
  assert.deepEqual(counts(rolled, 3, 3), {});
  assert.deepEqual(counts(rolled, 12, 40), { ...counts(raw, 0, 23), "9 r 2": 1 });
  assert.deepEqual(counts(rolled, 13, 40), { "9 r 2": 1 });
  // Again with nothing new: no change. Later, every day through day 4 becomes day cells.
  assert.equal(rollUpLog(rolled, 23, 50), undefined);
  const later = rollUpLog(rolled, 119, 120)!;
  assert.equal(firstHourCellDay(later), -1, "no hour cells left");
  assert.equal(rolledLength(later), later.length, "no entry left");
  assert.deepEqual(counts(later), counts(raw));
  assert.deepEqual(counts(later, 24, 47), { "9 r 2": 1 });
});

Deno.test("rollUpLog() leaves a log with nothing closed alone", () => {
  const open = new Uint8Array([...entry(5, false, LIKE, 100), ...entry(6, true, LIKE, 101)]);
  assert.equal(rollUpLog(open, 23, 99), undefined);
  assert.equal(rollUpLog(new Uint8Array(0), 167, 167), undefined);
});
