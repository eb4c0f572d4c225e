/**
 * Who an account interacts with most, and its totals, from its interaction logs. Cost:
 * one read of the window's weeks, then a pass over 5-byte entries with no object per
 * entry; for a heavy account, a merge of its day digests with the logs' last hours
 * instead (digest_top.ts), which gives the same answer.
 */
import type { Redis } from "@bsky/shared/redis";
import { hiddenAmong } from "./hidden.ts";
import { didsOf, idOf } from "./ids.ts";
import { rankByDigests, readWeekHeads, type WeekHead } from "./digest_top.ts";
import { COLUMNS, excludedAmong, rankByScan, tallies, type Tally } from "./interactions_scan.ts";
import { type InteractionType, TYPES } from "./layout.ts";
import type { DigestQuery, Ranked, TopOptions } from "./ranking.ts";
import { windowWeeks } from "./windows.ts";

export { windowRange, windowWeeks } from "./windows.ts";
export type { Direction, TopOptions } from "./ranking.ts";

/**
 * Default weights: a reply or a quote takes writing and says more about a relationship
 * than a like; a repost or a mention sits between.
 */
export const DEFAULT_WEIGHTS: Readonly<Record<InteractionType, number>> = {
  like: 1,
  repost: 2,
  reply: 3,
  quote: 3,
  mention: 2,
};

export type Counts = Record<InteractionType, number>;

export interface Counterpart extends Counts {
  did: string;
  score: number;
}

/** Interaction counts by type, and blocks, of one direction. */
export type Totals = Counts & { block: number };

function zero(): Counts {
  return { like: 0, repost: 0, reply: 0, quote: 0, mention: 0 };
}

/** The weights of the five types (TYPES order): the defaults, with the options' over them. */
function weightsOf(options: TopOptions): number[] {
  const weights = { ...DEFAULT_WEIGHTS, ...options.weights };
  return TYPES.map((t) => weights[t]);
}

/**
 * The ranking of account `id` from its day digests, or undefined when they cannot settle
 * it; `read` is the first read of the window's weeks (readWeekHeads()).
 */
function rankDigested(
  redis: Redis,
  id: number,
  options: TopOptions,
  read: WeekHead[],
): Promise<Ranked[] | undefined> {
  const q: DigestQuery = {
    ...options,
    weights: weightsOf(options),
    excluded: (ids) => excludedAmong(redis, id, ids, options.excludeBlocked, options.skip),
  };
  return rankByDigests(redis, id, windowWeeks(options.windowHours, options.now), read, q);
}

/**
 * What `rank` gives for the id of `did`, with the counterparts' DIDs; undefined when the DID
 * was never seen or `rank` gives undefined.
 */
async function rankedOf(
  redis: Redis,
  did: string,
  rank: (id: number) => Promise<Ranked[] | undefined>,
): Promise<Counterpart[] | undefined> {
  const id = await idOf(redis, did);
  if (id === undefined) return undefined;
  const ranked = await rank(id);
  return ranked && await named(redis, ranked);
}

/** The first read of the window's weeks (readWeekHeads()). */
const readWindow = (redis: Redis, id: number, options: TopOptions) =>
  readWeekHeads(redis, id, windowWeeks(options.windowHours, options.now));

/** Ranked counterparts of `did` in the window; undefined when the DID was never seen. */
export function topInteractions(
  redis: Redis,
  did: string,
  options: TopOptions,
): Promise<Counterpart[] | undefined> {
  return rankedOf(redis, did, async (id) => {
    // The first read tells a heavy account's digested weeks; an ordinary account's logs
    // are whole in it.
    const read = await readWindow(redis, id, options);
    return await rankDigested(redis, id, options, read) ??
      await rankByScan(redis, id, options, weightsOf(options), read);
  });
}

/**
 * topInteractions() from the day digests alone: undefined when the DID was never seen or
 * the digests cannot settle the answer (topInteractions() then scans the logs).
 */
export function topInteractionsByDigests(
  redis: Redis,
  did: string,
  options: TopOptions,
): Promise<Counterpart[] | undefined> {
  return rankedOf(
    redis,
    did,
    async (id) => rankDigested(redis, id, options, await readWindow(redis, id, options)),
  );
}

/** topInteractions() by a scan of every log of the window, whatever the account. */
export function topInteractionsByScan(
  redis: Redis,
  did: string,
  options: TopOptions,
): Promise<Counterpart[] | undefined> {
  return rankedOf(redis, did, (id) => rankByScan(redis, id, options, weightsOf(options)));
}

/** Ranked counterparts with their DIDs. */
async function named(redis: Redis, ranked: Ranked[]): Promise<Counterpart[]> {
  if (ranked.length === 0) return [];
  const dids = await didsOf(redis, ranked.map((r) => r.id));
  return ranked.map((r, k) => {
    const c: Counterpart = { did: dids[k]!, score: r.score, ...zero() };
    TYPES.forEach((type, i) => c[type] = r.counts[i]);
    return c;
  });
}

/**
 * Sent and received counts by type (and blocks made and received) in the window, with
 * hidden accounts left out as counterparts, as in topInteractions() and the top lists;
 * undefined when the DID was never seen.
 */
export async function totals(
  redis: Redis,
  did: string,
  windowHours: number,
  now: number,
): Promise<{ sent: Totals; received: Totals } | undefined> {
  const id = await idOf(redis, did);
  if (id === undefined) return undefined;
  const [sent, received] = await tallies(redis, id, windowHours, now);
  const hidden = await hiddenAmong(redis, [...new Set([...sent.ids, ...received.ids])]);
  const sum = (tally: Tally) => {
    const c: Totals = { ...zero(), block: 0 };
    for (let s = 0; s < tally.size; s++) {
      if (hidden.has(tally.ids[s])) continue;
      TYPES.forEach((type, i) => c[type] += tally.counts[s * COLUMNS + i]);
      c.block += tally.counts[s * COLUMNS + TYPES.length];
    }
    return c;
  };
  return { sent: sum(sent), received: sum(received) };
}
