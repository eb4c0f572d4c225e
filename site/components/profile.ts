/** Profiles as the API gives them, and as pages show them (avatars through this site). */
import type { z } from "zod";
import type * as api from "@bsky/fart/schemas";
import { personLabel as label } from "@bsky/fart/circles";
import { displayText, HANDLE_TEXT } from "@bsky/shared/display_text";
import { placeholderIndex } from "@bsky/fart/placeholder";

export { initialsOf, PLACEHOLDER_HUES, placeholderColourOfHue } from "@bsky/fart/placeholder";

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

/**
 * A placeholder's class, stable per DID: `ph-0` to `ph-23`, the palette's colour the circles
 * picture gives the person too. The colours are in style.css (a class, since the
 * Content-Security-Policy allows no inline style), each {@linkcode placeholderColourOfHue}.
 */
export const placeholderClass = (did: string) => `ph-${placeholderIndex(did)}`;
