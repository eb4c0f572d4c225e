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
 *   holds both), so buckets stay near 80 records. A span's key expires when the last of
 *   its records has been remembered for the record memory's hours.
 * - `bl:{A}` / `fo:{A}` sets: whom A blocks / follows.
 * - `p:{A}` hash: handle, name, avatar, status and the seq of the event that set each.
 * - `hx:{g}` sorted set of "handle\0id" for prefix search; `hidden:{g}`: ids not to show.
 * - `ids:{ids}:did` / `ids:{ids}:rev` / `ids:{ids}:next`: the DID ↔ id interning.
 */

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
  blocks: (id: number) => `bl:{${id}}`,
  follows: (id: number) => `fo:{${id}}`,
  profile: (id: number) => `p:{${id}}`,
  handles: "hx:{g}",
  hidden: "hidden:{g}",
  didToId: "ids:{ids}:did",
  idToDid: "ids:{ids}:rev",
  nextId: "ids:{ids}:next",
  parked: "idx:{firehose}:parked",
};

/** Bytes of one log entry. */
export const ENTRY_BYTES = 5;
/** Ids fit in the 28 bits a log entry has for them. */
export const MAX_ID = 2 ** 28 - 1;
export const WEEK_HOURS = 168;

/** What a log entry says; `type` is the code (1-5 interactions, 6 a block). */
export type LogVisitor = (
  counterpart: number,
  received: boolean,
  type: number,
  by: 1 | -1,
  hourOfWeek: number,
) => void;

/**
 * Visits the entries of one week's log whose hour of the week is in [from, to]: the one
 * place that knows how a log is encoded, for the queries and the scheduler's scans.
 */
export function scanLog(log: Uint8Array, from: number, to: number, visit: LogVisitor): void {
  for (let p = 0; p + ENTRY_BYTES <= log.length; p += ENTRY_BYTES) {
    // 40 bits: id * 4096 + received * 2048 + undo * 1024 + (type - 1) * 168 + hour.
    const low = ((log[p + 3] & 0x0f) << 8) | log[p + 4];
    const c = low & 0x3ff;
    const hour = c % WEEK_HOURS;
    if (hour < from || hour > to) continue;
    const cp = (log[p] << 20) | (log[p + 1] << 12) | (log[p + 2] << 4) | (log[p + 3] >> 4);
    visit(cp, (low & 0x800) !== 0, Math.floor(c / WEEK_HOURS) + 1, low & 0x400 ? -1 : 1, hour);
  }
}
