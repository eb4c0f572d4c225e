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

/** Indices of the m largest values (ties by smaller id), best first. */
export function topBy(values: Float64Array, ids: number[], m: number): number[] {
  const better = (a: number, b: number) =>
    values[a] > values[b] || (values[a] === values[b] && ids[a] < ids[b]);
  // A min-heap of the best m so far: its root is the worst of them.
  const heap: number[] = [];
  const down = (i: number) => {
    while (true) {
      const l = 2 * i + 1, r = l + 1;
      let worst = i;
      if (l < heap.length && better(heap[worst], heap[l])) worst = l;
      if (r < heap.length && better(heap[worst], heap[r])) worst = r;
      if (worst === i) return;
      [heap[i], heap[worst]] = [heap[worst], heap[i]];
      i = worst;
    }
  };
  for (let c = 0; c < values.length; c++) {
    if (!(values[c] > 0)) continue;
    if (heap.length < m) {
      heap.push(c);
      for (let i = heap.length - 1; i > 0;) {
        const p = (i - 1) >> 1;
        if (!better(heap[p], heap[i])) break;
        [heap[p], heap[i]] = [heap[i], heap[p]];
        i = p;
      }
    } else if (better(c, heap[0])) {
      heap[0] = c;
      down(0);
    }
  }
  return heap.sort((a, b) => (better(a, b) ? -1 : 1));
}
