/**
 * The languages a post is written in, as the platform keeps them: the primary language
 * subtag of each BCP-47 tag of the record's `langs` (`pt-BR` → `pt`, `EN` → `en`), two or
 * three ASCII letters (ISO 639), distinct, at most three a post. Tags whose primary subtag
 * is anything else (private use `x-…`, grandfathered `i-…`, four to eight letters, digits,
 * empty, not a string) are dropped, as is everything past the first three kept.
 */

/** A primary language subtag as the platform keeps it: 2 or 3 lowercase letters. */
export const LANG = /^[a-z]{2,3}$/;

/** The most languages kept for one post (the lexicon allows three tags). */
export const MAX_POST_LANGS = 3;

/** The longest tag looked at: BCP-47 tags are far shorter; a longer string is junk. */
const MAX_TAG = 64;

/** The primary language subtag of one tag, lowercased, or undefined when it is not one. */
export function primaryLanguage(tag: unknown): string | undefined {
  if (typeof tag !== "string" || tag.length === 0 || tag.length > MAX_TAG) return undefined;
  const dash = tag.indexOf("-");
  const primary = (dash < 0 ? tag : tag.slice(0, dash)).toLowerCase();
  return LANG.test(primary) ? primary : undefined;
}

/**
 * The languages of a record's `langs` value: distinct primary subtags in the order
 * written, at most MAX_POST_LANGS; undefined when none is left (or `langs` is no array).
 */
export function postLanguages(langs: unknown): string[] | undefined {
  if (!Array.isArray(langs)) return undefined;
  const out: string[] = [];
  for (const tag of langs) {
    const lang = primaryLanguage(tag);
    if (lang !== undefined && !out.includes(lang)) {
      out.push(lang);
      if (out.length === MAX_POST_LANGS) break;
    }
  }
  return out.length > 0 ? out : undefined;
}

/** Whether `value` is a post's languages as events carry them (what postLanguages gives). */
export function isPostLanguages(value: unknown): value is string[] {
  return Array.isArray(value) && value.length > 0 && value.length <= MAX_POST_LANGS &&
    value.every((l) => typeof l === "string" && LANG.test(l)) &&
    new Set(value).size === value.length;
}

/**
 * A language as a number from 1 to 18,252: two letters 1-676, three letters 677-18,252,
 * in alphabetical order within each length (how the store writes it: 15 bits).
 */
export function languageCode(lang: string): number {
  if (!LANG.test(lang)) throw new RangeError(`Not a language subtag: ${JSON.stringify(lang)}`);
  let v = 0;
  for (let i = 0; i < lang.length; i++) v = v * 26 + (lang.charCodeAt(i) - 97);
  return lang.length === 2 ? 1 + v : 677 + v;
}

/** The language of a code languageCode() gave, or undefined for any other number. */
export function languageOfCode(code: number): string | undefined {
  if (!Number.isInteger(code) || code < 1 || code > 677 + 26 ** 3 - 1) return undefined;
  let v = code <= 676 ? code - 1 : code - 677;
  const length = code <= 676 ? 2 : 3;
  let out = "";
  for (let i = 0; i < length; i++) {
    out = String.fromCharCode(97 + (v % 26)) + out;
    v = Math.floor(v / 26);
  }
  return out;
}
