/** Ground truth for the store, computed directly from a workload's list of writes. */
import type { TruthEvent } from "@bsky/shared/testing/workload";
import { DEFAULT_WEIGHTS, type Direction } from "../queries.ts";
import { type InteractionType, TYPES } from "../layout.ts";

type Counts = Record<InteractionType, number>;

export interface Truth {
  /** author → subject → counts of what still stands. */
  sent: Map<string, Map<string, Counts>>;
  hidden: Set<string>;
  handles: Map<string, string>;
  /** language → author → posts in it that still stand (hidden authors included). */
  languages: Map<string, Map<string, number>>;
}

function pairsOf(e: TruthEvent): [InteractionType, string][] {
  if (e.kind !== "commit" || e.action === "delete") return [];
  const out: [InteractionType, string][] = [];
  const add = (t: InteractionType, s: string | undefined) => {
    if (s !== undefined && s !== e.did) out.push([t, s]);
  };
  if (e.collection === "app.bsky.feed.like") add("like", e.subject);
  if (e.collection === "app.bsky.feed.repost") add("repost", e.subject);
  if (e.collection === "app.bsky.feed.post") {
    add("reply", e.parent);
    add("quote", e.quote);
    for (const m of e.mentions ?? []) add("mention", m);
  }
  return out;
}

export function computeTruth(events: readonly TruthEvent[]): Truth {
  const records = new Map<string, [string, [InteractionType, string][]]>();
  const posts = new Map<string, [string, string[]]>();
  const hidden = new Set<string>();
  const handles = new Map<string, string>();
  for (const e of events) {
    if (e.kind === "account") e.active ? hidden.delete(e.did) : hidden.add(e.did);
    else if (e.kind === "identity") {
      if (e.handle) handles.set(e.did, e.handle);
    } else {
      const key = `${e.did}/${e.collection}/${e.rkey}`;
      if (e.action === "delete") records.delete(key);
      else records.set(key, [e.did, pairsOf(e)]);
      if (e.collection !== "app.bsky.feed.post") continue;
      if (e.action === "delete") posts.delete(key);
      else posts.set(key, [e.did, e.langs ?? []]);
    }
  }
  const sent = new Map<string, Map<string, Counts>>();
  for (const [author, pairs] of records.values()) {
    for (const [type, subject] of pairs) {
      const bySubject = sent.get(author) ?? new Map<string, Counts>();
      sent.set(author, bySubject);
      const counts = bySubject.get(subject) ??
        { like: 0, repost: 0, reply: 0, quote: 0, mention: 0 };
      bySubject.set(subject, counts);
      counts[type]++;
    }
  }
  const languages = new Map<string, Map<string, number>>();
  for (const [author, langs] of posts.values()) {
    for (const lang of langs) {
      const byAuthor = languages.get(lang) ?? new Map<string, number>();
      languages.set(lang, byAuthor);
      byAuthor.set(author, (byAuthor.get(author) ?? 0) + 1);
    }
  }
  return { sent, hidden, handles, languages };
}

const score = (c: Counts) => TYPES.reduce((s, t) => s + c[t] * DEFAULT_WEIGHTS[t], 0);

/** What topInteractions must answer for `did`, as did → counts with score (order aside). */
export function expectedTop(
  truth: Truth,
  did: string,
  direction: Direction,
): Map<string, Counts & { score: number }> {
  const sentTo = truth.sent.get(did) ?? new Map<string, Counts>();
  const receivedFrom = new Map<string, Counts>();
  for (const [author, bySubject] of truth.sent) {
    const c = bySubject.get(did);
    if (c) receivedFrom.set(author, c);
  }
  const out = new Map<string, Counts & { score: number }>();
  const sum = (a?: Counts, b?: Counts): Counts => {
    const c = { like: 0, repost: 0, reply: 0, quote: 0, mention: 0 };
    for (const t of TYPES) c[t] = (a?.[t] ?? 0) + (b?.[t] ?? 0);
    return c;
  };
  const others = new Set([...sentTo.keys(), ...receivedFrom.keys()]);
  for (const other of others) {
    if (truth.hidden.has(other)) continue;
    const s = sentTo.get(other), r = receivedFrom.get(other);
    let counts: Counts, sc: number;
    if (direction === "sent") [counts, sc] = [sum(s), score(sum(s))];
    else if (direction === "received") [counts, sc] = [sum(r), score(sum(r))];
    else if (direction === "both") [counts, sc] = [sum(s, r), score(sum(s, r))];
    else {
      if (!s || !r) continue;
      [counts, sc] = [sum(s, r), Math.min(score(s), score(r))];
    }
    if (sc > 0) out.set(other, { ...counts, score: sc });
  }
  return out;
}
