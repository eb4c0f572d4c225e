/** The API's live figures, as /live and its chart use them, and how they are worded. */
import type { z } from "zod";
import type * as api from "@bsky/fart/schemas";

export type LiveAnswer = z.infer<typeof api.liveAnswer>;

/** "12 s", "14 min", "3 h 5 min": a lag in the unit that reads best. */
export function formatLag(seconds: number | null, locale: string): string {
  if (seconds === null) return "–";
  const n = (v: number) => v.toLocaleString(locale, { maximumFractionDigits: 0 });
  if (seconds < 90) return `${n(seconds)} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 90) return `${n(minutes)} min`;
  return `${n(Math.floor(minutes / 60))} h ${n(minutes % 60)} min`;
}

/** What each stream entry is, as people say it; anything else keeps its own name. */
export const COLLECTION_NAMES = {
  "app.bsky.feed.like": "likes",
  "app.bsky.feed.repost": "reposts",
  "app.bsky.feed.post": "posts",
  "app.bsky.graph.follow": "follows",
  "app.bsky.graph.block": "blocks",
  "app.bsky.actor.profile": "profileUpdates",
  "#identity": "handleChanges",
  "#account": "accountChanges",
  "#malformed": "unreadable",
} as const;
