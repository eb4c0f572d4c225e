/**
 * The figures of /v1/stats/live, read from the firehose's streams: rates over the last minute
 * up to now, so they fall to zero when nothing arrives (a rate over the newest events alone
 * would keep showing the last burst forever), and the age of the newest event.
 */
import { decodeEvent } from "@bsky/shared/events";
import { firehoseKeys } from "@bsky/shared/keys";
import type { Redis } from "@bsky/shared/redis";

/** The span the rates are measured over, in ms. */
export const LIVE_WINDOW_MS = 60_000;
/** Most events looked at per partition; a busier minute is measured over what they span. */
export const LIVE_SAMPLE = 2000;

/** The most languages the live figures name; the rest are counted in no language's share. */
export const LIVE_LANGUAGES = 12;

export interface LiveLanguage {
  lang: string;
  postsPerSecond: number;
  /** Of all posts created over the minute, those in this language (0 to 1). */
  share: number;
}

export interface LiveFigures {
  eventsPerSecond: number;
  byCollection: Record<string, number>;
  lagSeconds: number | null;
  activeAccounts: number;
  sampledEvents: number;
  /** Posts created per second over the minute, and the languages they are in, most first. */
  postsPerSecond: number;
  postLanguages: LiveLanguage[];
}

/** The streams' figures at `now` (ms) over `partitions` partitions. */
export async function liveFigures(
  redis: Redis,
  partitions: number,
  now: number,
): Promise<LiveFigures> {
  // A pipeline per partition, all at once: the partitions' streams are in slots of their own,
  // on several nodes of a Redis Cluster, and a Cluster pipeline goes to one node.
  const replies = await Promise.all(Array.from({ length: partitions }, async (_, p) => {
    const stream = firehoseKeys.stream(p);
    return (await redis.pipeline()
      .xrevrange(stream, "+", String(now - LIVE_WINDOW_MS), "COUNT", LIVE_SAMPLE)
      .xrevrange(stream, "+", "-", "COUNT", 1)
      .exec()) ?? [];
  }));
  let newest = 0, rate = 0, sampled = 0;
  const byCollection: Record<string, number> = {};
  const byLanguage = new Map<string, number>();
  let posts = 0;
  const accounts = new Set<string>();
  for (let p = 0; p < partitions; p++) {
    const [[err, recent], [lastErr, last]] = replies[p];
    if (err || lastErr) throw err ?? lastErr;
    const entries = recent as [string, string[]][];
    for (const [id] of last as [string, string[]][]) {
      newest = Math.max(newest, Number(id.split("-")[0]));
    }
    if (entries.length === 0) continue;
    // A full sample covers less than the window: its events are counted over what it spans.
    const oldest = Number(entries[entries.length - 1][0].split("-")[0]);
    const seconds = entries.length === LIVE_SAMPLE
      ? Math.max(1, now - oldest) / 1000
      : LIVE_WINDOW_MS / 1000;
    sampled += entries.length;
    rate += entries.length / seconds;
    for (const [, fields] of entries) {
      const f: Record<string, string> = {};
      for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]] = fields[i + 1];
      let kind = "#malformed";
      try {
        const e = decodeEvent(f.v, f.e);
        kind = e.kind === "commit" ? e.collection : `#${e.kind}`;
        accounts.add(e.did);
        if (kind === "app.bsky.feed.post" && e.kind === "commit" && e.action === "create") {
          posts += 1 / seconds;
          for (const lang of e.langs ?? []) {
            byLanguage.set(lang, (byLanguage.get(lang) ?? 0) + 1 / seconds);
          }
        }
      } catch { /* counted as malformed */ }
      byCollection[kind] = (byCollection[kind] ?? 0) + 1 / seconds;
    }
  }
  return {
    eventsPerSecond: rate,
    byCollection,
    lagSeconds: newest ? Math.max(0, (now - newest) / 1000) : null,
    activeAccounts: accounts.size,
    sampledEvents: sampled,
    postsPerSecond: posts,
    postLanguages: [...byLanguage].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, LIVE_LANGUAGES)
      .map(([lang, rate]) => ({ lang, postsPerSecond: rate, share: posts > 0 ? rate / posts : 0 })),
  };
}
