/**
 * What a ranking of an account's counterparts is asked and answers, by scan of the logs
 * (interactions_scan.ts) or by the day digests (digest_top.ts, digest_settle.ts).
 * @module
 */
import type { InteractionType } from "./layout.ts";

export type Direction = "sent" | "received" | "both" | "mutual";
/** The digests rank by the same directions. */
export type DigestDirection = Direction;

export interface TopOptions {
  direction: Direction;
  /** Whole hours back from the current hour, 1 to the retention. */
  windowHours: number;
  limit: number;
  weights?: Partial<Record<InteractionType, number>>;
  /** Leave out the accounts the actor blocks (for circles). */
  excludeBlocked?: boolean;
  /**
   * Leaves out more candidates (store ids, asked in rank order, a chunk at a time) before
   * the top is cut to `limit`: see circle_filters.ts.
   */
  skip?: (ids: readonly number[]) => Promise<readonly boolean[]>;
  /** The instant the window ends in (its hour is the window's last). */
  now: number;
}

/** A ranked counterpart: its id, score and its counts of the direction asked. */
export interface Ranked {
  id: number;
  score: number;
  counts: number[];
}

export interface DigestQuery {
  direction: DigestDirection;
  windowHours: number;
  limit: number;
  /** Weights of the five types, in TYPES order. */
  weights: readonly number[];
  now: number;
  /** Which of the ids may not be shown (hidden, or blocked when asked). */
  excluded: (ids: number[]) => Promise<boolean[]>;
}
