/**
 * How many API calls one visitor may cause, per minute: every visitor's pages are asked of
 * the API with the site's one key, so without this one visitor could use up its allowance
 * for everyone. The generic cell rate algorithm (a burst of a minute's calls, then one call
 * every 60/perMinute seconds), in memory, per visitor address, bounded in visitors: one
 * pushed out by newer ones starts afresh.
 * @module
 */
import { BoundedMap, stringBytes } from "@bsky/shared/bounded_map";

export interface VisitorDecision {
  allowed: boolean;
  /** Seconds until the next call can pass (refused calls). */
  retryAfterSeconds: number;
}

/** Visitors whose allowance is remembered at once. */
const MAX_VISITORS = 50_000;

export class VisitorLimiter {
  /** Each visitor's "theoretical arrival time", in ms. */
  readonly #tat = new BoundedMap<string, number>({
    maxEntries: MAX_VISITORS,
    maxBytes: MAX_VISITORS * 160,
    sizeOf: (visitor) => stringBytes(visitor) + 48,
  });

  constructor(readonly perMinute: number, readonly now: () => number = Date.now) {}

  /** Counts one API call of `visitor`, or refuses it. */
  take(visitor: string): VisitorDecision {
    const now = this.now();
    const interval = 60_000 / this.perMinute;
    const tat = Math.max(this.#tat.get(visitor) ?? now, now);
    const allowAt = tat + interval - 60_000;
    if (now < allowAt) {
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((allowAt - now) / 1000)) };
    }
    this.#tat.set(visitor, tat + interval);
    return { allowed: true, retryAfterSeconds: 0 };
  }

  /** Visitors remembered now. */
  get visitors(): number {
    return this.#tat.size;
  }
}
