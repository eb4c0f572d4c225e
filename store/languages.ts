/**
 * Posts by language and account: the hourly strings `lp:{g}:<hour>` the apply script
 * appends to (layout.ts), read back as counts over windows of whole hours ending with now's
 * hour, as the other windows are (windowRange).
 */
import type { Buffer } from "node:buffer";
import { languageOfCode } from "@bsky/shared/langs";
import type { Redis } from "@bsky/shared/redis";
import type { IdBits } from "./hidden.ts";
import { HOUR_MS, LANGUAGE_ENTRY_BYTES, storeKeys } from "./layout.ts";
import { defineScript, withKeys } from "./lua.ts";
import trimHour from "./scripts/trim_language_hour.lua" with { type: "text" };

/** Calls `visit` for each entry of an hour's string: author id, language code, +1 or -1. */
export function scanLanguagePosts(
  data: Uint8Array,
  visit: (id: number, lang: number, by: 1 | -1) => void,
): void {
  const end = data.length - (data.length % LANGUAGE_ENTRY_BYTES);
  for (let i = 0; i < end; i += LANGUAGE_ENTRY_BYTES) {
    // 48 bits: the top 16, then the low 32.
    const hi = (data[i] << 8) | data[i + 1];
    const lo = ((data[i + 2] << 24) | (data[i + 3] << 16) | (data[i + 4] << 8) | data[i + 5]) >>>
      0;
    const undo = lo & 1;
    // (id * 2^15 + lang) is the 47 bits above the undo bit.
    const rest = hi * 2 ** 31 + (lo >>> 1);
    visit(Math.floor(rest / 32768), rest % 32768, undo ? -1 : 1);
  }
}

/**
 * The hours whose strings are still kept at `now`: each expires when its hour has been past
 * for the retention (the apply script sets it so), the first kept one is `first`.
 */
export function keptLanguageHours(
  now: number,
  retentionDays: number,
): { first: number; last: number } {
  const nowS = Math.floor(now / 1000);
  return {
    first: Math.floor((nowS - retentionDays * 86400) / 3600),
    last: Math.floor(now / HOUR_MS),
  };
}

/** Posts per account in one language over one window. */
export type LanguageCounts = Map<number, number>;

export interface LanguageWindows {
  /** Per window (hours), per language, posts per account id; accounts with none left out. */
  byWindow: Map<number, Map<string, LanguageCounts>>;
  /** Hours read, and their bytes. */
  hours: number;
  bytes: number;
}

type BufferPipeline = {
  getBuffer(key: string): void;
  exec(): Promise<[Error | null, Buffer | null][]>;
};

/**
 * Posts per language and account over each window of `windows` hours ending with now's
 * hour, read in one pass over the longest; accounts in `hidden` are left out.
 */
export async function languageWindows(
  redis: Redis,
  windows: readonly number[],
  now: number,
  hidden?: IdBits,
): Promise<LanguageWindows> {
  const last = Math.floor(now / HOUR_MS);
  const longest = Math.max(...windows);
  const tallies = new Map(windows.map((w) => [w, new Map<number, LanguageCounts>()]));
  let bytes = 0;
  const pipe = redis.pipeline() as unknown as BufferPipeline;
  for (let h = last - longest + 1; h <= last; h++) pipe.getBuffer(storeKeys.languagePosts(h));
  const replies = await pipe.exec();
  replies.forEach(([err, data], k) => {
    if (err) throw err;
    if (!data) return;
    bytes += data.length;
    const age = longest - 1 - k; // hours before now's
    const inside = windows.filter((w) => age < w).map((w) => tallies.get(w)!);
    scanLanguagePosts(data, (id, lang, by) => {
      if (hidden?.has(id)) return;
      for (const t of inside) {
        let counts = t.get(lang);
        if (!counts) t.set(lang, counts = new Map());
        counts.set(id, (counts.get(id) ?? 0) + by);
      }
    });
  });
  const byWindow = new Map<number, Map<string, LanguageCounts>>();
  for (const [w, t] of tallies) {
    const named = new Map<string, LanguageCounts>();
    for (const [code, counts] of t) {
      const lang = languageOfCode(code);
      if (lang === undefined) continue;
      for (const [id, n] of counts) if (n <= 0) counts.delete(id);
      if (counts.size > 0) named.set(lang, counts);
    }
    byWindow.set(w, named);
  }
  return { byWindow, hours: longest, bytes };
}

const TRIM_SCRIPT = withKeys(trimHour);

/**
 * Drops the growth slack APPEND left in the strings of closed hours (`hours` of them before
 * now's): a string grown by appends holds up to as much room again as its data. Returns
 * the bytes freed; an hour already trimmed costs a MEMORY USAGE.
 */
export async function trimLanguageHours(redis: Redis, now: number, hours = 2): Promise<number> {
  // One key named (the first hour's; all share {g}): on a Redis Cluster it sends the call to
  // the master of that slot, where a call that names none would go to any master.
  defineScript(redis, "trimLanguageHours", TRIM_SCRIPT, 1);
  const last = Math.floor(now / HOUR_MS);
  const closed = Array.from({ length: hours }, (_, k) => last - 1 - k);
  const r = redis as unknown as {
    trimLanguageHours(key: string, ...a: number[]): Promise<number>;
  };
  return await r.trimLanguageHours(storeKeys.languagePosts(closed[0]), ...closed);
}
