/**
 * The interaction store's layout, shared by the writer (apply.ts) and the readers
 * (queries.ts). DIDs are interned to integer ids; every per-user key carries the user's id
 * as its hash tag.
 *
 * - `o:{A}:<day>` / `i:{A}:<day>` hashes: what A sent / received on that UTC day. Field =
 *   5 bytes: the counterpart's id (uint32 BE) and one byte type * 24 + hour of day; value =
 *   count. So an interaction costs a few bytes, not a key, and any window of whole hours
 *   from 1 h to the retention can be answered exactly.
 * - `r:{A}:<day>` hashes: A's recent records (rkey → "hour type:subject,…"), kept for the
 *   record memory so deletes subtract exactly what creates added; "x" marks a deleted one.
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

/** Reads a 5-byte field: [counterpart id, type code, hour of day]. */
export function readField(field: Uint8Array): [number, number, number] {
  const id = ((field[0] << 24) | (field[1] << 16) | (field[2] << 8) | field[3]) >>> 0;
  const tb = field[4];
  return [id, Math.floor(tb / 24), tb % 24];
}
