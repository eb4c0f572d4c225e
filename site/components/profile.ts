/** Profiles as the API gives them, and as pages show them (avatars through this site). */
import type { z } from "zod";
import type * as api from "@bsky/fart/schemas";
import { personLabel as label } from "@bsky/fart/circles";
import { displayText, HANDLE_TEXT } from "@bsky/shared/display_text";

/** A profile in the API's answers (the API's schema is the contract). */
export type ApiProfile = z.infer<typeof api.profile>;

export interface SiteProfile {
  did: string;
  handle: string;
  displayName: string | null;
  avatar: string | null;
}

/** The avatar's URL on this site: the browser never asks another origin. */
export const avatarUrl = (did: string) => `/avatar/${encodeURIComponent(did)}`;

/** A profile for the browser's scripts, its texts already fit to print (displayText). */
export function siteProfile(p: ApiProfile): SiteProfile {
  return {
    did: p.did,
    handle: displayText(p.handle, HANDLE_TEXT) || p.did,
    displayName: displayText(p.displayName) || null,
    avatar: p.avatar ? avatarUrl(p.did) : null,
  };
}

/** "Name (@handle)" or "@handle", for text alternatives: the same label as the API's images. */
export function personLabel(p: { handle: string | null; displayName: string | null; did: string }) {
  return label(p);
}

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

/** Hues of the placeholders' palette: one every 15 degrees. */
export const PLACEHOLDER_HUES = 24;

/**
 * The placeholder's class, stable per DID: `ph-0` to `ph-23`, the palette's hue nearest
 * below the one the circles image gives the person (the same FNV-1a hash of the DID). The
 * colours are in style.css (a class, since the Content-Security-Policy allows no inline
 * style), each {@linkcode placeholderColourOfHue}.
 */
export function placeholderClass(did: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < did.length; i++) hash = Math.imul(hash ^ did.charCodeAt(i), 0x01000193);
  return `ph-${Math.floor(((hash >>> 0) % 360) / (360 / PLACEHOLDER_HUES))}`;
}

/** A hue's placeholder colour: dark enough that white initials keep at least 4.5:1. */
export function placeholderColourOfHue(hue: number): string {
  for (let l = 0.45;; l -= 0.01) {
    const rgb = hsl(hue, 0.55, l);
    if (contrastWithWhite(rgb) >= 4.6 || l <= 0.1) {
      return `#${rgb.map((v) => Math.round(v * 255).toString(16).padStart(2, "0")).join("")}`;
    }
  }
}

function hsl(h: number, s: number, l: number): [number, number, number] {
  const a = s * Math.min(l, 1 - l);
  const channel = (k: number) => {
    const t = (k + h / 30) % 12;
    return l - a * Math.max(-1, Math.min(t - 3, 9 - t, 1));
  };
  return [channel(0), channel(8), channel(4)];
}

/** WCAG's contrast ratio of white on an sRGB colour (channels 0..1). */
export function contrastWithWhite(rgb: readonly number[]): number {
  const [r, g, b] = rgb.map((v) => {
    const c = Math.round(v * 255) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 1.05 / (0.2126 * r + 0.7152 * g + 0.0722 * b + 0.05);
}
