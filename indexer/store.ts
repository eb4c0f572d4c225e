/**
 * The interaction store's layout, shared by the writer (apply.ts) and the readers
 * (queries.ts). DIDs are interned to integer ids; every per-user key carries the user's id
 * as its hash tag.
 *
 * - `o:{A}:<week>` / `i:{A}:<week>` strings: logs of what A sent / received in that week
 *   (weeks counted from the epoch, 168 hours each), 6 bytes an entry: the counterpart's id
 *   (uint32 BE), then (type - 1) * 168 + hour of the week (uint16 BE), top bit set for an
 *   entry that takes one back (a delete). Appending is the cheapest write Redis has; an
 *   interaction costs 6 bytes per direction, and a week per key keeps the per-key overhead
 *   small. Any window of whole hours from 1 h to the retention is answered exactly. The
 *   roll-up (rollup.ts) drops entries that cancel out and the strings' growth slack.
 * - `r:{A}:<day>` hashes: A's recent records (rkey → hour of the day, then 5-byte pairs:
 *   type, subject id), kept for the record memory so deletes subtract exactly what creates
 *   added; "x" once deleted. A TID rkey is stored as its 8-byte value.
 * - `bl:{A}` / `fo:{A}` sets: whom A blocks / follows. `bk:{g}:<day>` / `bkr:{g}:<day>`
 *   sorted sets: blocks received / made per account that day.
 * - `p:{A}` hash: handle, name, avatar, status and the seq of the event that set each.
 * - `hx:{g}` sorted set of "handle\0id" for prefix search; `hidden:{g}`: ids not to show.
 * - `ids:{ids}:did` / `ids:{ids}:rev` / `ids:{ids}:next`: the DID ↔ id interning.
 */

export const TYPES = ["like", "repost", "reply", "quote", "mention"] as const;
export type InteractionType = typeof TYPES[number];
/** Type codes in fields and records; 6 and 7 are blocks and follows (kept apart). */
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
  sent: (id: number, week: number) => `o:{${id}}:${week}`,
  received: (id: number, week: number) => `i:{${id}}:${week}`,
  records: (id: number, day: number) => `r:{${id}}:${day}`,
  blocks: (id: number) => `bl:{${id}}`,
  follows: (id: number) => `fo:{${id}}`,
  profile: (id: number) => `p:{${id}}`,
  blocked: (day: number) => `bk:{g}:${day}`,
  blockers: (day: number) => `bkr:{g}:${day}`,
  handles: "hx:{g}",
  hidden: "hidden:{g}",
  didToId: "ids:{ids}:did",
  idToDid: "ids:{ids}:rev",
  nextId: "ids:{ids}:next",
  parked: "idx:{firehose}:parked",
};

/** Bytes of one log entry. */
export const ENTRY_BYTES = 6;
export const WEEK_HOURS = 168;
