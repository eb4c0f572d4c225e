/**
 * The roll-up of the interaction logs (encoded as log.ts says): entries of closed hours
 * become counts per counterpart and hour (about 3 bytes instead of 5), and once a day has
 * been over for 25 hours, per counterpart and day (about 2 bytes); entries that cancel out
 * (a create and its delete) go, and so does the growth slack appending leaves. Windows of
 * up to 24 hours stay exact to the hour, also for a reader whose clock is up to an hour
 * behind the roll-up's; longer ones round their oldest day (see scanLog). The new log is
 * made here and swapped in by a script (scripts/swap_log.lua) that checks the log still
 * starts with what was read, so it is safe while the indexer appends; running it twice
 * changes nothing. The scheduler runs it every hour for the current and the previous week;
 * logs with nothing to roll up are skipped after reading their first 5 bytes.
 */
import { createHash } from "node:crypto";
import { Buffer } from "node:buffer";
import type { Redis } from "@bsky/shared/redis";
import {
  ENTRY_BYTES,
  firstHourCellDay,
  HOUR_MS,
  rolledLength,
  rollUpLog,
  storeKeys,
  WEEK_HOURS,
} from "./layout.ts";
import { defineScript, withKeys } from "./lua.ts";
import swapLog from "./scripts/swap_log.lua" with { type: "text" };

/** The swap of a log's rolled-up start: see scripts/swap_log.lua. */
const SWAP_SCRIPT = withKeys(swapLog);

type RollRedis = Redis & {
  swapLog(key: string, n: number, sha: string, head: Buffer): Promise<number>;
};

/** Windows of up to this many hours stay exact to the hour. */
export const EXACT_HOURS = 24;
/**
 * How far behind the roll-up's clock a reader's may be while its windows of EXACT_HOURS
 * stay exact: the API and the scheduler may run on different hosts.
 */
export const CLOCK_MARGIN_HOURS = 1;

/** The last hour of the week that can be rolled up at `now`, or -1 for none yet. */
export function lastRollableHour(week: number, now: number): number {
  const nowHour = Math.floor(now / HOUR_MS) - week * WEEK_HOURS;
  // A day [24d, 24d + 23] is rollable once its last hour is EXACT_HOURS plus the margin
  // behind: a window of EXACT_HOURS at any reader's now then starts after that day.
  const days = Math.min(7, Math.floor((nowHour - EXACT_HOURS - CLOCK_MARGIN_HOURS + 1) / 24));
  return days <= 0 ? -1 : days * 24 - 1;
}

/**
 * Rolls up every interaction log of `week` as far as `now` allows; returns the bytes
 * before and after, and how many logs there were.
 */
export async function compactWeek(
  redis: Redis,
  week: number,
  now: number,
): Promise<{ before: number; after: number; keys: number }> {
  const r = redis as RollRedis;
  defineScript(redis, "swapLog", SWAP_SCRIPT, 1);
  const lastDayHour = lastRollableHour(week, now);
  const lastHour = Math.min(WEEK_HOURS - 1, Math.floor(now / HOUR_MS) - week * WEEK_HOURS - 1);
  let before = 0, after = 0, keys = 0;
  let cursor = "0";
  do {
    const [next, found] = await redis.scan(
      cursor,
      "MATCH",
      storeKeys.log("*", week),
      "COUNT",
      1000,
    );
    cursor = next;
    // The header and length first: most logs of a past week need nothing.
    const heads = redis.pipeline();
    for (const key of found) heads.getrangeBuffer(key, 0, ENTRY_BYTES - 1).strlen(key);
    const h = (await heads.exec())!;
    const todo: string[] = [];
    found.forEach((key, k) => {
      const head = h[2 * k][1] as Buffer, length = h[2 * k + 1][1] as number;
      if (!head || length === 0) return;
      keys++;
      const day = firstHourCellDay(head);
      const rollable = length > rolledLength(head) || (day >= 0 && day * 24 + 23 <= lastDayHour);
      if (lastHour >= 0 && rollable) {
        todo.push(key);
      } else {
        before += length;
        after += length;
      }
    });
    const pipe = redis.pipeline();
    for (const key of todo) pipe.getBuffer(key);
    const logs = (await pipe.exec())!;
    for (let k = 0; k < logs.length; k++) {
      let log = logs[k][1] as Buffer | null;
      while (log) {
        const out = rollUpLog(log, lastDayHour, lastHour);
        if (!out) {
          before += log.length;
          after += log.length;
          break;
        }
        const sha = createHash("sha1").update(log).digest("hex");
        const len = await r.swapLog(todo[k], log.length, sha, Buffer.from(out));
        if (len >= 0) {
          before += log.length;
          after += len;
          break;
        }
        // Changed in between (only a roll-up elsewhere rewrites a log): read it again.
        log = await redis.getBuffer(todo[k]);
      }
    }
  } while (cursor !== "0");
  return { before, after, keys };
}

/** Rolls up, as of `now`, every week that can still change: this one and the one before. */
export async function rollUpWeeks(
  redis: Redis,
  now: number,
): Promise<Record<string, { keys: number; before: number; after: number }>> {
  const week = Math.floor(now / HOUR_MS / WEEK_HOURS);
  const out: Record<string, { keys: number; before: number; after: number }> = {};
  // The previous week's last days close during the current week's first day.
  for (const w of [week - 1, week]) out[String(w)] = await compactWeek(redis, w, now);
  return out;
}
