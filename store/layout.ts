/**
 * The interaction store's layout, shared by the writer (apply.ts) and the readers
 * (queries.ts). DIDs are interned to integer ids; every per-user key carries the user's id
 * as its hash tag.
 *
 * - `l:{A}:<week>` strings: the log of what A sent and received in that week (weeks counted
 *   from the epoch, 168 hours each), 5 bytes an entry, one 40-bit big-endian number:
 *   counterpart id * 4096 + received * 2048 + undo * 1024 + (type - 1) * 168 + hour of
 *   the week. Types 1-5 are interactions, 6 a block; "undo" marks an entry that takes one
 *   back (a delete). Appending is the cheapest write Redis has; an interaction costs 5
 *   bytes in each of its two accounts' logs, and one key per account and week keeps the
 *   per-key overhead small. Any window of whole hours from 1 h to the retention is
 *   answered exactly. The roll-up (rollup.ts) drops entries that cancel out and the
 *   strings' growth slack.
 * - `r:{b}:<span>` hashes: the record memory, so deletes subtract exactly what creates
 *   added. Spans are 8 hours; a record made in that span by A with key R is field id(A)
 *   (4 bytes) + R (a TID as its 8-byte value) in bucket b = hash(field) mod the span's
 *   bucket count; the value is the hour in the span (1 byte) then its pairs (a uint32
 *   each: type * 2^28 + subject id), or "x" once deleted. Bucketing keeps a few thousand
 *   small hashes (compact listpacks) instead of a key per author and day; a span's bucket
 *   count is fixed at its first record from the records of the span before (`rb:{g}`
 *   holds both), so buckets stay near 80 records. A span's buckets are made at that
 *   moment, each with an empty field and its expiry (when the last of its records has
 *   been remembered for the record memory's hours), so remembering needs no EXPIREAT.
 * - `g:{A}` set: whom A follows (their ids) and blocks (their ids, negated); one set keeps
 *   an account's follows and blocks in one compact intset.
 * - `p:{A}` hash: handle, name, avatar, status and the seq of the event that set each;
 *   `optout` "1" while A has opted out (hidden whatever its status). The sweep deletes the
 *   profiles (and handle index entries) of active accounts idle through the retention.
 * - `oc:{g}:<code>` strings: opt codes the API handed out, "<did> <out|in>" until the
 *   account posts the code, then "done <did> <out|in>"; they expire after an hour.
 * - `hx:{g}` sorted set of "handle\0id" for prefix search; `hidden:{g}`: ids not to show.
 * - `ids:{ids}:did` hash, DID → id; `ids:{ids}:r:<id / 128>` hashes, id % 128 → DID;
 *   `ids:{ids}:next`: the DID ↔ id interning. A did:plc is kept as 16 bytes (a zero byte,
 *   then the 120 bits of its 24 base32 letters), any other DID as its text (see didKey);
 *   the reverse map in hashes of 128 ids stays in compact listpacks.
 */

import { Buffer } from "node:buffer";

export const TYPES = ["like", "repost", "reply", "quote", "mention"] as const;
export type InteractionType = typeof TYPES[number];
/** Type codes in logs and records; 6 (blocks) is logged apart, 7 (follows) only kept in sets. */
export const TYPE_CODE: Record<InteractionType | "block" | "follow", number> = {
  like: 1,
  repost: 2,
  reply: 3,
  quote: 4,
  mention: 5,
  block: 6,
  follow: 7,
};

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

export const storeKeys = {
  log: (id: number, week: number) => `l:{${id}}:${week}`,
  records: (bucket: number, day: number) => `r:{${bucket}}:${day}`,
  recordBuckets: "rb:{g}",
  graph: (id: number) => `g:{${id}}`,
  profile: (id: number) => `p:{${id}}`,
  handles: "hx:{g}",
  hidden: "hidden:{g}",
  optCode: (code: string) => `oc:{g}:${code}`,
  didToId: "ids:{ids}:did",
  /** The reverse map's hash holding `id`; the field is id % ID_BUCKET. */
  idToDid: (id: number) => `ids:{ids}:r:${Math.floor(id / ID_BUCKET)}`,
  nextId: "ids:{ids}:next",
  parked: "idx:{firehose}:parked",
  /** What the indexer keeps (retentionDays, recordMemoryHours), written when it starts. */
  settings: "settings:{g}",
};

/** Ids per hash of the reverse map. */
export const ID_BUCKET = 128;

const B32 = "abcdefghijklmnopqrstuvwxyz234567";
const PLC = /^did:plc:[a-z2-7]{24}$/;

/** How the interning maps keep a DID: a did:plc as 16 bytes, any other as its text. */
export function didKey(did: string): Buffer | string {
  if (!PLC.test(did)) return did;
  const out = Buffer.alloc(16);
  // Three groups of 8 letters, 40 bits each, into 5 bytes each after the leading zero.
  for (let g = 0; g < 3; g++) {
    let v = 0;
    for (let c = 0; c < 8; c++) v = v * 32 + B32.indexOf(did[8 + g * 8 + c]);
    for (let b = 4; b >= 0; b--) {
      out[1 + g * 5 + b] = v % 256;
      v = Math.floor(v / 256);
    }
  }
  return out;
}

/** The DID a key of the interning maps stands for. */
export function didOfKey(key: Uint8Array): string {
  if (key.length !== 16 || key[0] !== 0) return new TextDecoder().decode(key);
  let did = "did:plc:";
  for (let g = 0; g < 3; g++) {
    let v = 0;
    for (let b = 0; b < 5; b++) v = v * 256 + key[1 + g * 5 + b];
    let letters = "";
    for (let c = 0; c < 8; c++) {
      letters = B32[v % 32] + letters;
      v = Math.floor(v / 32);
    }
    did += letters;
  }
  return did;
}

/** Bytes of one log entry. */
export const ENTRY_BYTES = 5;
/** Ids fit in the 28 bits a log entry has for them. */
export const MAX_ID = 2 ** 28 - 1;
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
 * Visits what one week's log holds for the hours of the week in [from, to]: the one place
 * that knows how a log is encoded, for the queries, the roll-up and the scheduler. Entries
 * and hour cells count by their hour; a rolled-up day counts whole when at least half of
 * it (12 hours) is in [from, to], so a window whose oldest day has been rolled up (25 hours
 * after it ended) counts that day whole or not at all.
 */
export function scanLog(log: Uint8Array, from: number, to: number, visit: LogVisitor): void {
  const rolled = rolledLength(log);
  if (rolled > 0) {
    let daysIn = 0;
    for (let d = 0; d < 7; d++) {
      const hours = Math.min(to, d * 24 + 23) - Math.max(from, d * 24) + 1;
      if (hours >= 12) daysIn |= 1 << d;
    }
    scanRolled(log, rolled, daysIn, from, to, visit);
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
): void {
  let p = ENTRY_BYTES, id = 0;
  while (p < end) {
    let gap = 0, shift = 1, b: number;
    do {
      b = log[p++];
      gap += (b & 0x7f) * shift;
      shift *= 128;
    } while (b & 0x80);
    id += gap;
    let more: number;
    do {
      let cell = log[p++];
      more = cell & MORE;
      let count = 1;
      if ((cell & 0x7f) === COUNTED) {
        let z = 0;
        shift = 1;
        do {
          b = log[p++];
          z += (b & 0x7f) * shift;
          shift *= 128;
        } while (b & 0x80);
        count = z % 2 ? -(z + 1) / 2 : z / 2;
        cell = log[p++];
      }
      const code = cell & 0x7f;
      if (code >= HOUR_CELL) {
        const x = ((code - HOUR_CELL) << 8) | log[p++];
        const hour = Math.floor(x / 12), r = x % 12;
        if (hour >= from && hour <= to) visit(id, r >= 6, (r % 6) + 1, count, hour, false);
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

/**
 * Rolls up a week's log: entries of hours up to `lastHour` (closed hours) become hour
 * cells, and entries and hour cells of days ending by `lastDayHour` become day cells,
 * added to what the rolled-up part holds; counts that cancel out go. Later entries stay
 * as they are, in order. Returns the new log, or undefined when it would not change.
 */
export function rollUpLog(
  log: Uint8Array,
  lastDayHour: number,
  lastHour: number,
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
    } else kept.push(p);
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
