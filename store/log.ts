/**
 * The interaction logs' encoding (`l:{A}:<week>`, see layout.ts): entries as they are
 * appended, the rolled-up part the roll-up writes at the start of a log, and the one scan
 * the queries, the roll-up and the scheduler read them with.
 */
import { readVarint, varintEnd } from "./varint.ts";

/** Bytes of one log entry. */
export const ENTRY_BYTES = 5;
export const WEEK_HOURS = 168;

/**
 * A log may start with a rolled-up part: a 5-byte header whose low 10 bits (1008 and up)
 * no entry can have, and whose upper 28 bits give the length of the body that follows.
 * The body holds the week's closed hours as counts: counterparts in ascending order, each
 * as a varint of the gap from the one before, then its cells. Bit 7 of a cell's first byte
 * says another cell of the same counterpart follows; its bits 0-6 are
 * - 0-83: day * 12 + received * 6 + (type - 1), one interaction in that day;
 * - 85-92: with the next byte, 85 * 256 + hour * 12 + received * 6 + (type - 1), one
 *   interaction in that hour (hours stay exact until their day is 25 hours over);
 * - COUNTED (84): a zigzag varint count follows, then the cell it counts.
 * The header's low 10 bits are ROLLED_MARK + 1 + the first day that still has hour cells,
 * or ROLLED_MARK when none has. Entries appended since follow the rolled-up part.
 */
export const ROLLED_MARK = 1008;
const COUNTED = 84;
const HOUR_CELL = 85;
const MORE = 0x80;
/** Codes of cells in the roll-up's tallies: day cells as is, hour cells from here. */
const HOUR_CODE = 1000;

/** What a log entry or cell says; `type` is the code (1-5 interactions, 6 a block). */
export type LogVisitor = (
  counterpart: number,
  received: boolean,
  type: number,
  by: number,
  hourOfWeek: number,
  day?: boolean,
) => void;

const lowBits = (log: Uint8Array, p: number) => ((log[p + 3] & 0x03) << 8) | log[p + 4];

/** Length of the rolled-up part (header and body) at the start of a log; 0 when none. */
export function rolledLength(log: Uint8Array): number {
  if (log.length < ENTRY_BYTES || lowBits(log, 0) < ROLLED_MARK) return 0;
  return ENTRY_BYTES + ((log[0] << 20) | (log[1] << 12) | (log[2] << 4) | (log[3] >> 4));
}

/** The first day of the week whose hours are still kept apart in a rolled-up part, or -1. */
export function firstHourCellDay(header: Uint8Array): number {
  const mark = lowBits(header, 0);
  return mark > ROLLED_MARK ? mark - ROLLED_MARK - 1 : -1;
}

/**
 * The days of a week (bit d for day d) whose day cells a window of the week's hours [from,
 * to] counts: those with at least half of their hours (12) inside.
 */
export function daysCounted(from: number, to: number): number {
  let daysIn = 0;
  for (let d = 0; d < 7; d++) {
    const hours = Math.min(to, d * 24 + 23) - Math.max(from, d * 24) + 1;
    if (hours >= 12) daysIn |= 1 << d;
  }
  return daysIn;
}

/**
 * Visits what one week's log holds for the hours of the week in [from, to]: the one place
 * that knows how a log is encoded, for the queries, the roll-up and the scheduler. Entries
 * and hour cells count by their hour; a rolled-up day counts whole when at least half of
 * it (12 hours) is in [from, to], so a window whose oldest day has been rolled up (25 hours
 * after it ended) counts that day whole or not at all. A reader that has some of the
 * rolled-up part from elsewhere (digest_top.ts) says what to leave out: every day cell
 * (`dayCells` true), the hour cells of some days (`hourCellDays`, a bit per day).
 */
export function scanLog(
  log: Uint8Array,
  from: number,
  to: number,
  visit: LogVisitor,
  leave?: { dayCells?: boolean; hourCellDays?: number },
): void {
  const rolled = rolledLength(log);
  if (rolled > 0) {
    const days = leave?.dayCells ? 0 : daysCounted(from, to);
    scanRolled(log, rolled, days, from, to, visit, leave?.hourCellDays ?? 0);
  }
  for (let p = rolled; p + ENTRY_BYTES <= log.length; p += ENTRY_BYTES) {
    // 40 bits: id * 4096 + received * 2048 + undo * 1024 + (type - 1) * 168 + hour.
    const low = ((log[p + 3] & 0x0f) << 8) | log[p + 4];
    const c = low & 0x3ff;
    const hour = c % WEEK_HOURS;
    if (hour < from || hour > to) continue;
    const cp = (log[p] << 20) | (log[p + 1] << 12) | (log[p + 2] << 4) | (log[p + 3] >> 4);
    visit(cp, (low & 0x800) !== 0, Math.floor(c / WEEK_HOURS) + 1, low & 0x400 ? -1 : 1, hour);
  }
}

function scanRolled(
  log: Uint8Array,
  end: number,
  daysIn: number,
  from: number,
  to: number,
  visit: LogVisitor,
  hourCellsLeft = 0,
): void {
  let p = ENTRY_BYTES, id = 0;
  while (p < end) {
    id += readVarint(log, p);
    p = varintEnd;
    let more: number;
    do {
      let cell = log[p++];
      more = cell & MORE;
      let count = 1;
      if ((cell & 0x7f) === COUNTED) {
        const z = readVarint(log, p);
        p = varintEnd;
        count = z % 2 ? -(z + 1) / 2 : z / 2;
        cell = log[p++];
      }
      const code = cell & 0x7f;
      if (code >= HOUR_CELL) {
        const x = ((code - HOUR_CELL) << 8) | log[p++];
        const hour = Math.floor(x / 12), r = x % 12;
        if (hour >= from && hour <= to && !(hourCellsLeft & (1 << Math.floor(hour / 24)))) {
          visit(id, r >= 6, (r % 6) + 1, count, hour, false);
        }
      } else {
        const day = Math.floor(code / 12);
        if (daysIn & (1 << day)) {
          const r = code % 12;
          visit(id, r >= 6, (r % 6) + 1, count, day * 24, true);
        }
      }
    } while (more);
  }
}

/** What a roll-up found in a log (rollUpLog's `stats`). */
export interface RollUpStats {
  /** Interactions and blocks the log held, deletes counted too (each entry's or cell's count). */
  held: number;
  /** Days (bit d for day d) whose counts the roll-up changed: those of entries it took in. */
  changedDays: number;
}

/**
 * Rolls up a week's log: entries of hours up to `lastHour` (closed hours) become hour
 * cells, and entries and hour cells of days ending by `lastDayHour` become day cells,
 * added to what the rolled-up part holds; counts that cancel out go. Later entries stay
 * as they are, in order. Returns the new log, or undefined when it would not change;
 * fills `stats` when given.
 */
export function rollUpLog(
  log: Uint8Array,
  lastDayHour: number,
  lastHour: number,
  stats?: RollUpStats,
): Uint8Array | undefined {
  const rolled = rolledLength(log);
  // Counts by counterpart and cell code (day cells 0-83, hour cells HOUR_CODE + x).
  const counts = new Map<number, Map<number, number>>();
  const add = (
    id: number,
    received: boolean,
    type: number,
    by: number,
    hour: number,
    day?: boolean,
  ) => {
    let cells = counts.get(id);
    if (!cells) counts.set(id, cells = new Map());
    const r = (received ? 6 : 0) + type - 1;
    if (stats) {
      stats.held += Math.abs(by);
      if (day === undefined) stats.changedDays |= 1 << Math.floor(hour / 24);
    }
    const code = day || hour <= lastDayHour
      ? Math.floor(hour / 24) * 12 + r
      : HOUR_CODE + hour * 12 + r;
    cells.set(code, (cells.get(code) ?? 0) + by);
  };
  if (rolled) scanRolled(log, rolled, 0x7f, 0, WEEK_HOURS - 1, add);
  const kept: number[] = [];
  for (let p = rolled; p + ENTRY_BYTES <= log.length; p += ENTRY_BYTES) {
    if (lowBits(log, p) % WEEK_HOURS <= lastHour) {
      scanLog(log.subarray(p, p + ENTRY_BYTES), 0, WEEK_HOURS - 1, add);
    } else {
      kept.push(p);
      if (stats) stats.held++;
    }
  }
  const body: number[] = [];
  const varint = (n: number) => {
    while (n >= 128) {
      body.push((n % 128) | 0x80);
      n = Math.floor(n / 128);
    }
    body.push(n);
  };
  let prev = 0, firstHourDay = 7;
  for (const id of [...counts.keys()].sort((a, b) => a - b)) {
    // Each cell as [count, code]; a count of 1 to 3 is cheaper as repeated cells.
    const cells: [number, number][] = [];
    for (const [code, n] of [...counts.get(id)!].sort((a, b) => a[0] - b[0])) {
      if (n === 0) continue;
      if (n > 0 && n <= 3) { for (let k = 0; k < n; k++) cells.push([1, code]); }
      else cells.push([n, code]);
      if (code >= HOUR_CODE) {
        firstHourDay = Math.min(firstHourDay, Math.floor((code - HOUR_CODE) / 12 / 24));
      }
    }
    if (cells.length === 0) continue;
    varint(id - prev);
    prev = id;
    cells.forEach(([n, code], k) => {
      const more = k < cells.length - 1 ? MORE : 0;
      if (n !== 1) {
        body.push(COUNTED | more);
        varint(n < 0 ? -2 * n - 1 : 2 * n);
      }
      if (code >= HOUR_CODE) {
        const x = code - HOUR_CODE;
        body.push((HOUR_CELL + (x >> 8)) | (n === 1 ? more : 0), x & 0xff);
      } else body.push(code | (n === 1 ? more : 0));
    });
  }
  const out = new Uint8Array(
    (body.length ? ENTRY_BYTES + body.length : 0) + kept.length * ENTRY_BYTES,
  );
  let o = 0;
  if (body.length) {
    // Header: body length * 4096 + the mark, as 40 bits.
    const n = body.length;
    const mark = ROLLED_MARK + (firstHourDay < 7 ? firstHourDay + 1 : 0);
    out.set([
      (n >> 20) & 0xff,
      (n >> 12) & 0xff,
      (n >> 4) & 0xff,
      ((n & 0x0f) << 4) | (mark >> 8),
      mark & 0xff,
    ]);
    out.set(body, ENTRY_BYTES);
    o = ENTRY_BYTES + n;
  }
  for (const p of kept) {
    out.set(log.subarray(p, p + ENTRY_BYTES), o);
    o += ENTRY_BYTES;
  }
  if (out.length === log.length && out.every((b, k) => b === log[k])) return undefined;
  return out;
}
