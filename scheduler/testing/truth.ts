/** What the top lists must hold, computed directly from a list of writes (the ground truth). */
import { TOP_METRICS, type TopMetric } from "@bsky/shared/keys";
import type { TruthEvent } from "@bsky/shared/testing/workload";
import { computeTruth } from "@bsky/store/testing/truth";
import { TYPES } from "@bsky/store/layout";

/**
 * Per account, its count of each metric (TOP_METRICS order), and the hidden accounts. What
 * a hidden account sent or received counts for no one: its counterparts' totals leave it out.
 */
export function expectedTotals(
  events: readonly TruthEvent[],
): { totals: Map<string, number[]>; hidden: Set<string> } {
  const truth = computeTruth(events);
  const totals = new Map<string, number[]>();
  const row = (did: string) => {
    let r = totals.get(did);
    if (!r) totals.set(did, r = new Array(TOP_METRICS.length).fill(0));
    return r;
  };
  const { hidden } = truth;
  for (const [author, bySubject] of truth.sent) {
    if (hidden.has(author)) continue;
    for (const [subject, counts] of bySubject) {
      if (hidden.has(subject)) continue;
      TYPES.forEach((t, i) => {
        row(subject)[i * 2] += counts[t];
        row(author)[i * 2 + 1] += counts[t];
      });
    }
  }
  // Blocks that still stand.
  const blocks = new Map<string, [string, string]>();
  for (const e of events) {
    if (e.kind !== "commit" || e.collection !== "app.bsky.graph.block") continue;
    const key = `${e.did}/${e.rkey}`;
    if (e.action === "delete") blocks.delete(key);
    else if (e.subject && e.subject !== e.did) blocks.set(key, [e.did, e.subject]);
  }
  for (const [author, subject] of blocks.values()) {
    if (hidden.has(author) || hidden.has(subject)) continue;
    row(subject)[TOP_METRICS.indexOf("blocked")]++;
    row(author)[TOP_METRICS.indexOf("blockers")]++;
  }
  return { totals, hidden };
}

/** Adds per-account totals of several event lists (windows made of separate workloads). */
export function addTotals(...parts: Map<string, number[]>[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const part of parts) {
    for (const [did, row] of part) {
      const sum = out.get(did) ?? new Array(row.length).fill(0);
      row.forEach((n, i) => sum[i] += n);
      out.set(did, sum);
    }
  }
  return out;
}

/** The list of one metric: counts > 0, hidden left out, count descending then store id. */
export function expectedList(
  totals: Map<string, number[]>,
  hidden: Set<string>,
  ids: Map<string, number>,
  metric: TopMetric,
  size: number,
): { did: string; count: number }[] {
  const column = TOP_METRICS.indexOf(metric);
  return [...totals].filter(([did, row]) => row[column] > 0 && !hidden.has(did))
    .map(([did, row]) => ({ did, count: row[column] }))
    .sort((a, b) => b.count - a.count || ids.get(a.did)! - ids.get(b.did)!)
    .slice(0, size);
}
