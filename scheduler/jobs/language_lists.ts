/**
 * Top posters per language: for each window of LANGUAGE_WINDOWS, the accounts that posted
 * most in each language, from the store's posts by language and hour (one pass over the
 * longest window's hours). Hidden accounts count nowhere. The LANGUAGE_LISTS languages
 * with the most posts over the longest window get a list each; an index names them with
 * their totals. Each list is written aside and renamed over the previous one, the index
 * last, so readers see a complete set of lists (the previous one until the new is done).
 * The strings of the hours just closed are then given back their growth slack.
 */
import {
  LANGUAGE_LISTS,
  LANGUAGE_WINDOW_HOURS,
  LANGUAGE_WINDOWS,
  type LanguageIndex,
  type LanguageSnapshot,
  statsKeys,
} from "@bsky/shared/keys";
import { repliesOf } from "@bsky/shared/pipeline";
import type { Redis } from "@bsky/shared/redis";
import {
  didsOf,
  hiddenIds,
  type LanguageCounts,
  languageWindows,
  trimLanguageHours,
} from "@bsky/store/queries";

/** How long a list is kept when no newer one replaces it. */
const SNAPSHOT_TTL_SECONDS = 7 * 86400;

/** The `size` accounts that posted most: count descending, then id ascending. */
function best(counts: LanguageCounts, size: number): [number, number][] {
  return [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, size);
}

const sum = (counts: LanguageCounts) => {
  let n = 0;
  for (const c of counts.values()) n += c;
  return n;
};

export interface LanguageListsOptions {
  size: number;
  now: number;
  /** Languages that get a list (LANGUAGE_LISTS unless said). */
  languages?: number;
}

/** Computes every language's top posters and replaces the stored lists and their index. */
export async function computeLanguageLists(redis: Redis, options: LanguageListsOptions) {
  const { now, size } = options;
  const hidden = await hiddenIds(redis);
  const hours = LANGUAGE_WINDOWS.map((w) => LANGUAGE_WINDOW_HOURS[w]);
  const { byWindow, bytes } = await languageWindows(redis, hours, now, hidden);
  const longest = byWindow.get(Math.max(...hours))!;
  // The languages with the most posts over the longest window (then by name).
  const langs = [...longest].map(([lang, counts]) => [lang, sum(counts)] as const)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, options.languages ?? LANGUAGE_LISTS).map(([lang]) => lang);

  const snapshots: LanguageSnapshot[] = [];
  const index: LanguageIndex = {
    computedAt: now,
    windows: { "24h": [], "72h": [] },
  };
  for (const window of LANGUAGE_WINDOWS) {
    const t = byWindow.get(LANGUAGE_WINDOW_HOURS[window])!;
    for (const lang of langs) {
      const counts = t.get(lang) ?? new Map();
      const top = best(counts, size);
      const dids = await didsOf(redis, top.map(([id]) => id));
      snapshots.push({
        lang,
        window,
        computedAt: now,
        items: top.flatMap(([, count], k) => dids[k] ? [{ did: dids[k]!, count }] : []),
      });
      if (counts.size > 0) {
        index.windows[window].push({ lang, posts: sum(counts), posters: counts.size });
      }
    }
    index.windows[window].sort((a, b) => b.posts - a.posts || (a.lang < b.lang ? -1 : 1));
  }
  // Every list is complete: now replace them, each aside then renamed over the old one.
  const pipe = redis.pipeline();
  for (const s of snapshots) {
    const key = statsKeys.languageTop(s.window, s.lang);
    pipe.set(`${key}:next`, JSON.stringify(s), "EX", SNAPSHOT_TTL_SECONDS);
    pipe.rename(`${key}:next`, key);
  }
  pipe.set(`${statsKeys.languages}:next`, JSON.stringify(index), "EX", SNAPSHOT_TTL_SECONDS);
  pipe.rename(`${statsKeys.languages}:next`, statsKeys.languages);
  repliesOf(await pipe.exec());
  // The hours just closed no longer grow: their strings can give back APPEND's slack.
  const freed = await trimLanguageHours(redis, now);
  return {
    languages: langs.length,
    languageLists: snapshots.length,
    languageBytes: bytes,
    languageBytesFreed: freed,
  };
}
