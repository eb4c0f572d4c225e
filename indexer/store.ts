/**
 * The interaction store's layout, shared by the writer (apply.ts) and the readers
 * (queries.ts). DIDs are interned to integer ids; every per-user key carries the user's id
 * as its hash tag.
 *
 * - `o:{A}:<day>` / `i:{A}:<day>` strings: logs of what A sent / received on that UTC day,
 *   5 bytes an entry: the counterpart's id (uint32 BE), then (type - 1) * 24 + hour of day,
 *   plus 128 for an entry that takes one back (a delete). Appending is the cheapest write
 *   Redis has and an interaction costs 5 bytes per direction, not a key; any window of whole
 *   hours from 1 h to the retention can be answered exactly. Past days are compacted
 *   (rollup.ts): entries that cancel out go, and the string loses its growth slack.
 * - `r:{A}:<day>` hashes: A's recent records (rkey → hour uint32 BE + 5-byte pairs), kept
 *   for the record memory so deletes subtract exactly what creates added; "x" once deleted.
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
  sent: (id: number, day: number) => `o:{${id}}:${day}`,
  received: (id: number, day: number) => `i:{${id}}:${day}`,
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
export const ENTRY_BYTES = 5;
