/** Profiles as the API gives them, and as pages show them (avatars through this site). */
import type { z } from "zod";
import type * as api from "@bsky/fart/schemas";

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

export function siteProfile(p: ApiProfile): SiteProfile {
  return {
    did: p.did,
    handle: p.handle ?? p.did,
    displayName: p.displayName,
    avatar: p.avatar ? avatarUrl(p.did) : null,
  };
}

/** "Name (@handle)" or "@handle". */
export function personLabel(p: { handle: string | null; displayName: string | null; did: string }) {
  const handle = p.handle ? `@${p.handle}` : p.did;
  return p.displayName ? `${p.displayName} (${handle})` : handle;
}
