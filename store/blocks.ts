/**
 * Blocks as they stand: who blocks an account and whom it blocks, newest first, a page at a
 * time, with how many in each direction. The apply script keeps them (`bo:` and `bi:` in
 * layout.ts); hidden accounts (deleted, deactivated, taken down, opted out) are left out
 * of the pages and of the counts when read. Counting whom an account blocks looks at each
 * of its blocks (its set's members are record keys); who blocks it is counted in Redis
 * (ZINTERCARD with the hidden set).
 */
import type { Redis } from "@bsky/shared/redis";
import { didsOf, idOf } from "./ids.ts";
import { BLOCK_EPOCH_MS } from "./layout.ts";
import { defineScript, withKeys } from "./lua.ts";
import blockPageLua from "./scripts/block_page.lua" with { type: "text" };

/** Who blocks the account, or whom it blocks. */
export type BlockDirection = "blocked-by" | "blocking";

/** Where a page ends: the score (minute * 2^28 + id) of the last entry it looked at. */
export type BlockCursor = number;

export interface BlockCounts {
  /** Accounts that block it, hidden ones left out. */
  blockedBy: number;
  /** Accounts it blocks, hidden ones left out. */
  blocking: number;
}

export interface BlockPage {
  /** The other accounts, newest block first, with the minute each block was made (ms). */
  items: { did: string; since: number }[];
  counts: BlockCounts;
  /** Where the next page starts; undefined after the last. */
  next?: BlockCursor;
}

export interface BlockPageOptions {
  direction: BlockDirection;
  limit: number;
  /** The page before's `next`; none for the first page. */
  cursor?: BlockCursor;
  /**
   * The most entries one page looks at (hidden ones included): a page may hold fewer than
   * `limit` items and still have a next one when many in a row are hidden.
   */
  budget?: number;
}

const PAGE_SCRIPT = withKeys(blockPageLua);

/** A page of the account's blocks in one direction, and its counts in both. */
export async function blockPage(
  redis: Redis,
  did: string,
  { direction, limit, cursor, budget = Math.max(1000, 10 * limit) }: BlockPageOptions,
): Promise<BlockPage> {
  const id = await idOf(redis, did);
  if (id === undefined) return { items: [], counts: { blockedBy: 0, blocking: 0 } };
  defineScript(redis, "blockPage", PAGE_SCRIPT);
  const r = redis as unknown as {
    blockPage(...a: (string | number)[]): Promise<(string | number)[]>;
  };
  const [blockedBy, blocking, last, ...pairs] = await r.blockPage(
    id,
    direction === "blocked-by" ? "by" : "of",
    limit,
    budget,
    cursor ?? "",
  );
  const ids: number[] = [], minutes: number[] = [];
  for (let i = 0; i + 1 < pairs.length; i += 2) {
    ids.push(Number(pairs[i]));
    minutes.push(Number(pairs[i + 1]));
  }
  const dids = await didsOf(redis, ids);
  const items = dids.flatMap((d, k) =>
    d ? [{ did: d, since: BLOCK_EPOCH_MS + minutes[k] * 60_000 }] : []
  );
  const page: BlockPage = {
    items,
    counts: { blockedBy: Number(blockedBy), blocking: Number(blocking) },
  };
  if (last !== "") page.next = Number(last);
  return page;
}
