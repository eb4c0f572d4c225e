/**
 * The store's reads, in one import: interactions.ts (top interactions, totals), profiles.ts
 * (profiles and handles), ids.ts (the DID ↔ id interning), hidden.ts (hidden accounts),
 * blocks.ts (blocks as they stand), languages.ts (posts by language and account) and
 * count_table.ts (tallies without an object per id).
 */
export {
  type BlockCounts,
  type BlockCursor,
  type BlockDirection,
  type BlockPage,
  blockPage,
} from "./blocks.ts";
export { CountTable } from "./count_table.ts";
export { hiddenAmong, hiddenIds, IdBits } from "./hidden.ts";
export { didsOf, idOf } from "./ids.ts";
export {
  type LanguageCounts,
  type LanguageWindows,
  languageWindows,
  scanLanguagePosts,
  trimLanguageHours,
} from "./languages.ts";
export {
  type Counterpart,
  type Counts,
  DEFAULT_WEIGHTS,
  type Direction,
  topInteractions,
  type TopOptions,
  type Totals,
  totals,
  windowRange,
  windowWeeks,
} from "./interactions.ts";
export { didOfHandle, OPTED_OUT, type Profile, profiles, searchHandles } from "./profiles.ts";
