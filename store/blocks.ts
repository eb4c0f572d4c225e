/**
 * Blocks as they stand: who blocks an account and whom it blocks, newest first, a page at a
 * time, with how many in each direction. The apply script keeps them (`bo:` and `bi:` in
 * layout.ts); hidden accounts (deleted, deactivated, taken down, opted out) are left out
 * of the pages and of the counts when read. Counting whom an account blocks looks at each
 * of its blocks (its set's members are record keys); who blocks it is counted in Redis
 * (ZINTERCARD with the hidden set).
 *
 * On one server a page is one script. On a Redis Cluster the account's sets and the hidden
 * set are in different slots, so the same page is read in calls of one slot each (see
 * pageAcrossSlots): the answers are the same, but not taken at one instant, and the counts
 * walk the account's sets from the client in bounded calls instead of in one script.
 */
import { isCluster, type Redis, type RedisClient } from "@bsky/shared/redis";
import { didsOf, idOf } from "./ids.ts";
import { BLOCK_EPOCH_MS, storeKeys } from "./layout.ts";
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
  const dir = direction === "blocked-by" ? "by" : "of";
  let reply: (string | number)[];
  if (isCluster(redis)) {
    reply = await pageAcrossSlots(redis, id, dir, limit, budget, cursor);
  } else {
    defineScript(redis, "blockPage", PAGE_SCRIPT);
    const r = redis as unknown as {
      blockPage(...a: (string | number)[]): Promise<(string | number)[]>;
    };
    reply = await r.blockPage(id, dir, limit, budget, cursor ?? "");
  }
  const [blockedBy, blocking, last, ...pairs] = reply;
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

/** Ids are the low 28 bits of a block's score (layout.ts). */
const ID = 2 ** 28;
/** Entries of a set read per call when counting. */
const COUNT_CHUNK = 1000;

/**
 * The page script's answer (scripts/block_page.lua, the same steps and the same reply) in
 * calls that each keep to one slot: the account's set, then whether those accounts are
 * hidden, a run at a time.
 */
async function pageAcrossSlots(
  redis: RedisClient,
  id: number,
  dir: "by" | "of",
  limit: number,
  budget: number,
  cursor: BlockCursor | undefined,
): Promise<(string | number)[]> {
  const key = dir === "by" ? storeKeys.blockedBy(id) : storeKeys.blocking(id);
  const items: number[] = [];
  let looked = 0, last: string | undefined, left = false;
  let max = cursor === undefined ? "+inf" : `(${cursor}`;
  while (looked < budget && !left) {
    const got = await redis.zrange(
      key,
      max,
      "0",
      "BYSCORE",
      "REV",
      "LIMIT",
      0,
      Math.min(budget - looked, limit + 1),
      "WITHSCORES",
    );
    if (got.length === 0) break;
    const [scores, hidden] = await hiddenOf(redis, got);
    for (let k = 0; k < scores.length; k++) {
      if (items.length >= 2 * limit || looked >= budget) {
        left = true;
        break;
      }
      looked++;
      last = scores[k];
      const score = Number(last);
      if (!hidden[k]) items.push(score % ID, Math.floor(score / ID));
    }
    max = `(${last}`;
  }
  if (!left && last !== undefined && looked >= budget) {
    left = (await redis.zrange(key, `(${last}`, "0", "BYSCORE", "REV", "LIMIT", 0, 1)).length > 0;
  }
  const [blockedBy, blocking] = await Promise.all([
    shownAmong(redis, storeKeys.blockedBy(id)),
    shownAmong(redis, storeKeys.blocking(id)),
  ]);
  return [blockedBy, blocking, left && last !== undefined ? last : "", ...items];
}

/**
 * How many entries of a block set (scores 0 and up: the further records of a block are
 * scored below 0) stand for accounts that are not hidden, read COUNT_CHUNK at a time.
 */
async function shownAmong(redis: RedisClient, key: string): Promise<number> {
  let shown = 0;
  for (let min = "0";;) {
    const got = await redis.zrange(
      key,
      min,
      "+inf",
      "BYSCORE",
      "LIMIT",
      0,
      COUNT_CHUNK,
      "WITHSCORES",
    );
    if (got.length === 0) return shown;
    const [scores, hidden] = await hiddenOf(redis, got);
    shown += hidden.filter((h) => !h).length;
    if (scores.length < COUNT_CHUNK) return shown;
    min = `(${scores[scores.length - 1]}`;
  }
}

/** The scores of a block set's entries (member, score, …) and whether each one's account is hidden. */
async function hiddenOf(redis: RedisClient, entries: string[]): Promise<[string[], number[]]> {
  const scores = entries.filter((_, i) => i % 2 === 1);
  return [scores, await redis.smismember(storeKeys.hidden, ...scores.map((x) => Number(x) % ID))];
}
