/**
 * The reads of a merge of day digests (digest_top.ts): each in a MULTI, so that a digest
 * and its log are read as they stood together; the digest's index read again with each
 * later read says whether it changed meanwhile.
 */
import type { Redis } from "@bsky/shared/redis";
import { bucketOf, CODES, digestFields, type Heads, readRecords } from "./digest.ts";
import { storeKeys } from "./layout.ts";

/** Bytes of each log read before knowing whether the account is digested. */
export const PREFIX_BYTES = 64 * 1024;

export interface Week {
  week: number;
  from: number;
  to: number;
}

/** One digested day of the window and what was read of it. */
export interface Day {
  week: number;
  day: number;
  /** Bound of each direction past its head, at the query's weights. */
  bound: [number, number];
  /** The digest's bucket count that day, and its index as read first. */
  buckets: number;
  index: Uint8Array;
  heads: Heads;
}

type Multi = {
  callBuffer(...args: (string | number)[]): void;
  exec(): Promise<[Error | null, unknown][] | null>;
};

export async function inMulti(redis: Redis, calls: (string | number)[][]): Promise<unknown[]> {
  const multi = redis.multi() as unknown as Multi;
  for (const call of calls) multi.callBuffer(...call);
  const replies = await multi.exec();
  if (!replies) throw new Error("A read of the digests was aborted");
  return replies.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}

/** What the first read of a window's weeks gives: the index, the log's start and length. */
export interface WeekHead {
  index: Uint8Array | null;
  prefix: Uint8Array | null;
  length: number;
}

/** The first read of a window: each week's digest index, its log's first bytes and length. */
export async function readWeekHeads(
  redis: Redis,
  id: number,
  weeks: readonly Week[],
): Promise<WeekHead[]> {
  const calls: (string | number)[][] = [];
  for (const { week } of weeks) {
    calls.push(["HGET", storeKeys.digest(id, week), digestFields.index]);
    calls.push(["GETRANGE", storeKeys.log(id, week), 0, PREFIX_BYTES - 1]);
    calls.push(["STRLEN", storeKeys.log(id, week)]);
  }
  const r = await inMulti(redis, calls);
  return weeks.map((_, k) => {
    const prefix = r[3 * k + 1] as Uint8Array;
    return {
      index: r[3 * k] as Uint8Array | null,
      prefix: prefix.length ? prefix : null,
      length: r[3 * k + 2] as number,
    };
  });
}

export const sameBytes = (a: Uint8Array | null, b: Uint8Array | null) =>
  a === b || (!!a && !!b && a.length === b.length && a.every((x, k) => x === b[k]));

/**
 * Reads the buckets of the counterpart-days asked, with each digest's index to check that
 * it did not change since first read: returns the counts of each (`<list>:<id>`; zeros
 * when the counterpart has none that day).
 */
export async function readBuckets(
  redis: Redis,
  id: number,
  days: Day[],
  lookups: [number, number][],
): Promise<Map<string, number[]> | "changed"> {
  const out = new Map<string, number[]>();
  if (lookups.length === 0) return out;
  // By week, each bucket once, with the lookups it answers.
  const byWeek = new Map<number, { index: Uint8Array; fields: Map<string, [number, number][]> }>();
  for (const [list, cp] of lookups) {
    const d = days[list];
    let week = byWeek.get(d.week);
    if (!week) byWeek.set(d.week, week = { index: d.index, fields: new Map() });
    const field = digestFields.bucket(d.day, bucketOf(cp, d.buckets));
    const asked = week.fields.get(field);
    if (asked) asked.push([list, cp]);
    else week.fields.set(field, [[list, cp]]);
  }
  const weeks = [...byWeek];
  const replies = await inMulti(
    redis,
    weeks.map(([week, { fields }]) => [
      "HMGET",
      storeKeys.digest(id, week),
      digestFields.index,
      ...fields.keys(),
    ]),
  );
  const row = new Int32Array(CODES);
  for (const [k, [week, { index, fields }]] of weeks.entries()) {
    const got = replies[k] as (Uint8Array | null)[];
    if (!sameBytes(got[0], index)) return "changed";
    [...fields.values()].forEach((asked, f) => {
      const bytes = got[1 + f];
      if (!bytes) throw new Error(`A bucket of the digest of week ${week} is missing`);
      const found = new Map<number, number[]>();
      readRecords(bytes, 0, bytes.length, row, (cp) => found.set(cp, [...row]));
      for (const [list, cp] of asked) {
        out.set(`${list}:${cp}`, found.get(cp) ?? new Array<number>(CODES).fill(0));
      }
    });
  }
  return out;
}
