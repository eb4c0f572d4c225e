/**
 * Who circles may leave out besides hidden and blocked accounts, each computed exactly from
 * what the store keeps:
 *
 * - chosen accounts (by id);
 * - mutual follows, or everyone but them: the account follows them and they follow it back,
 *   from the follow sets (`g:{A}`) as they stand now;
 * - accounts that act at a machine's rate: more than BOT_DAY_INTERACTIONS interactions sent
 *   (likes, reposts, replies, quotes and mentions, to anyone) within one UTC day of the
 *   window, read from their own logs. Days are counted as the window counts them: the
 *   window's hours of each day, except that a rolled-up oldest day of a long rolling window
 *   counts whole or not at all (see scanLog), and the days of a week or a month are whole.
 *
 * circleFilter() makes the `skip` that topInteractions() takes: it is asked about candidates
 * in rank order until the top is full, so the top N stays exact after filtering.
 */
import { crossSlotPipeline } from "@bsky/shared/pipeline";
import type { Redis } from "@bsky/shared/redis";
import { windowWeeks } from "./interactions.ts";
import { BOT_DAY_INTERACTIONS } from "./circle_limits.ts";
import { scanLog, storeKeys, TYPES } from "./layout.ts";

export { BOT_DAY_INTERACTIONS };

/** Logs read at once when looking for bots: a busy account's log can take megabytes. */
const BOT_BATCH = 16;

export type Mutuals = "only" | "none";

/** Leaves out the candidates (store ids, in rank order) it answers true for. */
export type Skip = (ids: readonly number[]) => Promise<readonly boolean[]>;

export interface CircleFilterOptions {
  /** Ids of accounts to leave out. */
  exclude?: ReadonlySet<number>;
  /** Keep only mutual follows ("only"), or everyone but them ("none"). */
  mutuals?: Mutuals;
  /** Leave out accounts that act at a machine's rate in the window. */
  hideBots?: boolean;
  /** The window, as topInteractions() takes it. */
  windowHours: number;
  now: number;
  /** Interactions in one day past which an account counts as a bot (BOT_DAY_INTERACTIONS). */
  botDayInteractions?: number;
}

/** Which of `ids` follow `actor` and are followed by it, from the follow sets. */
export async function mutualFollows(
  redis: Redis,
  actor: number,
  ids: readonly number[],
): Promise<boolean[]> {
  if (ids.length === 0) return [];
  // The actor's set and each account's: a slot each.
  const pipe = crossSlotPipeline(redis).smismember(storeKeys.graph(actor), ...ids.map(String));
  for (const id of ids) pipe.sismember(storeKeys.graph(id), String(actor));
  const replies = (await pipe.exec())!.map(([err, v]) => {
    if (err) throw err;
    return v;
  });
  const follows = replies[0] as number[];
  return ids.map((_, k) => follows[k] === 1 && replies[k + 1] === 1);
}

/**
 * The most interactions each account sent within one UTC day of the window (its days as
 * the window counts them), from its own logs.
 */
export async function busiestDays(
  redis: Redis,
  ids: readonly number[],
  windowHours: number,
  now: number,
): Promise<number[]> {
  const weeks = windowWeeks(windowHours, now);
  const out: number[] = [];
  for (let at = 0; at < ids.length; at += BOT_BATCH) {
    const batch = ids.slice(at, at + BOT_BATCH);
    // Logs of many accounts: a slot each.
    const pipe = crossSlotPipeline(redis) as unknown as {
      callBuffer(...args: string[]): void;
      exec(): Promise<[Error | null, Uint8Array | null][]>;
    };
    for (const id of batch) {
      for (const { week } of weeks) pipe.callBuffer("GET", storeKeys.log(id, week));
    }
    const logs = await pipe.exec();
    batch.forEach((_, b) => {
      // Sent interactions by day of the window: 7 a week, weeks in order.
      const days = new Float64Array(weeks.length * 7);
      weeks.forEach(({ from, to }, w) => {
        const [err, log] = logs[b * weeks.length + w];
        if (err) throw err;
        if (!log) return;
        scanLog(log, from, to, (_cp, received, type, by, hour) => {
          if (!received && type <= TYPES.length) days[w * 7 + Math.floor(hour / 24)] += by;
        });
      });
      out.push(days.reduce((max, n) => Math.max(max, n), 0));
    });
  }
  return out;
}

/**
 * The `skip` of topInteractions() for circles of `actor` (a store id) with these filters,
 * or undefined when none is asked for. Cheapest checks first: a candidate left out by one
 * is not looked at by the next.
 */
export function circleFilter(
  redis: Redis,
  actor: number,
  options: CircleFilterOptions,
): Skip | undefined {
  const { exclude, mutuals, hideBots } = options;
  if (!exclude?.size && !mutuals && !hideBots) return undefined;
  const limit = options.botDayInteractions ?? BOT_DAY_INTERACTIONS;
  return async (ids) => {
    const skip = ids.map((id) => exclude?.has(id) ?? false);
    if (mutuals) {
      const open = ids.filter((_, k) => !skip[k]);
      const mutual = await mutualFollows(redis, actor, open);
      let k = 0;
      ids.forEach((_, i) => {
        if (!skip[i]) skip[i] = mutual[k++] !== (mutuals === "only");
      });
    }
    if (hideBots) {
      const open = ids.filter((_, k) => !skip[k]);
      const busiest = await busiestDays(redis, open, options.windowHours, options.now);
      let k = 0;
      ids.forEach((_, i) => {
        if (!skip[i]) skip[i] = busiest[k++] > limit;
      });
    }
    return skip;
  };
}
