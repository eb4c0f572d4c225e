/**
 * What stands for a person whose avatar is missing or fails, wherever people are shown (the
 * circles picture, the site's lists): two initials in white on a disc from a palette of
 * {@linkcode PLACEHOLDER_HUES} colours, picked by the DID so that a person keeps theirs,
 * each dark enough that the initials keep WCAG's 4.5:1.
 * @module
 */
import { displayText, HANDLE_TEXT } from "@bsky/shared/display_text";
import { contrast, hex, hslRgb, type Rgb } from "./colour.ts";

/** The initials' colour on every placeholder. */
export const PLACEHOLDER_INK = "#ffffff";
const WHITE: Rgb = [255, 255, 255];

/** Hues of the placeholders' palette: one every 15 degrees. */
export const PLACEHOLDER_HUES = 24;

const segmenter = new Intl.Segmenter(undefined, { granularity: "grapheme" });
/** Printable ASCII: each character is a grapheme, no segmenter needed (most handles). */
const ASCII = /^[\x20-\x7e]*$/;
const graphemesOf = (word: string) =>
  ASCII.test(word) ? [...word] : [...segmenter.segment(word)].map((s) => s.segment);
const firstGrapheme = (word: string) => graphemesOf(word)[0] ?? "";

/**
 * Two letters that tell people apart where an avatar is missing: the first letters of the
 * first and last words of the name ("Maya Costa": MC), else of the handle's first label
 * ("maya-costa.test": MC); one word gives its first two letters ("maya": MA), or its first
 * letter and last digit ("user012": U2). A DID alone gives "?".
 */
export function initialsOf(p: { displayName?: string | null; handle?: string | null }): string {
  const name = displayText(p.displayName);
  const handle = displayText(p.handle, HANDLE_TEXT).split(".")[0];
  for (const text of [name, handle]) {
    const words = text.split(/[\s\-_.·,]+/u).filter((w) => /[\p{L}\p{N}]/u.test(w));
    if (words.length === 0) continue;
    if (words.length > 1) {
      return (firstGrapheme(words[0]) + firstGrapheme(words[words.length - 1])).toUpperCase();
    }
    const letters = graphemesOf(words[0]);
    const last = letters[letters.length - 1];
    const second = /\d/.test(last) && letters.length > 2 ? last : letters[1] ?? "";
    return (letters[0] + second).toUpperCase();
  }
  return "?";
}

/** The DID's place in the palette, 0 to 23: its FNV-1a hash's hue, to the 15 degrees below. */
export function placeholderIndex(did: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < did.length; i++) hash = Math.imul(hash ^ did.charCodeAt(i), 0x01000193);
  return Math.floor(((hash >>> 0) % 360) / (360 / PLACEHOLDER_HUES));
}

/** A hue's placeholder colour: dark enough that white initials keep at least 4.5:1. */
export function placeholderColourOfHue(hue: number): string {
  for (let l = 0.45;; l -= 0.01) {
    const rgb = hslRgb(hue, 0.55, l);
    if (contrast(rgb, WHITE) >= 4.6 || l <= 0.1) return hex(rgb);
  }
}

/** The palette, "#rrggbb" by index. */
export const PLACEHOLDER_PALETTE: readonly string[] = Array.from(
  { length: PLACEHOLDER_HUES },
  (_, i) => placeholderColourOfHue(i * 360 / PLACEHOLDER_HUES),
);

/** The placeholder's colour: stable per DID, the same in the picture and the site's lists. */
export function placeholderColour(did: string): string {
  return PLACEHOLDER_PALETTE[placeholderIndex(did)];
}
