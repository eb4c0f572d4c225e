/**
 * Which accounts are hidden (deleted, deactivated, taken down or opted out): the set
 * `hidden:{g}` the apply script keeps, asked about a few ids or read whole.
 */
import type { Redis } from "@bsky/shared/redis";
import { storeKeys } from "./layout.ts";

/** Members per SMISMEMBER of the hidden set, and per SSCAN page of it. */
const HIDDEN_BATCH = 1000, HIDDEN_PAGE = 10_000;

/** Which of `ids` are hidden accounts. */
export async function hiddenAmong(redis: Redis, ids: readonly number[]): Promise<Set<number>> {
  const out = new Set<number>();
  if (ids.length === 0) return out;
  const pipe = redis.pipeline();
  for (let i = 0; i < ids.length; i += HIDDEN_BATCH) {
    pipe.smismember(storeKeys.hidden, ...ids.slice(i, i + HIDDEN_BATCH).map(String));
  }
  (await pipe.exec())!.forEach(([err, flags], c) => {
    if (err) throw err;
    (flags as number[]).forEach((f, k) => f && out.add(ids[c * HIDDEN_BATCH + k]));
  });
  return out;
}

/**
 * Store ids as a bitmap, for a pass that asks about every log entry: a lookup is a shift
 * and a mask (a Set's hashing nearly doubles the pass). Its size is the largest id / 8
 * bytes, 32 MB at most as ids have 28 bits.
 */
export class IdBits {
  #bits: Uint8Array;
  readonly size: number;

  constructor(ids: readonly number[]) {
    this.#bits = new Uint8Array((ids.reduce((m, id) => Math.max(m, id), 0) >>> 3) + 1);
    for (const id of ids) this.#bits[id >>> 3] |= 1 << (id & 7);
    this.size = new Set(ids).size;
  }

  has(id: number): boolean {
    const at = id >>> 3;
    return at < this.#bits.length && (this.#bits[at] & (1 << (id & 7))) !== 0;
  }
}

/**
 * The ids of every hidden account, read a page at a time. For a pass over every account:
 * the set is small next to the accounts, so it is read once instead of asked per account.
 */
export async function hiddenIds(redis: Redis): Promise<IdBits> {
  const ids: number[] = [];
  let cursor = "0";
  do {
    const [next, members] = await redis.sscan(storeKeys.hidden, cursor, "COUNT", HIDDEN_PAGE);
    for (const m of members) ids.push(Number(m));
    cursor = next;
  } while (cursor !== "0");
  return new IdBits(ids);
}
