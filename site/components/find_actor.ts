/**
 * What people type in the search box, read as an account: a DID, a handle (with or without
 * "@"), a profile URL, or a bare name looked up in the handle index.
 */
import { isValidDid, isValidHandle } from "@bsky/shared/syntax";
import type { Api } from "../api.ts";
import { cleanActor } from "../options.ts";
import { type ApiProfile, type SiteProfile, siteProfile } from "./profile.ts";

/** Either the one account meant, or the accounts it could be (none when nothing fits). */
export type Found = { go: string } | { choose: SiteProfile[]; term: string };

/** A bare name: one label of a handle, such as "alice". */
export const BARE_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
/** What the API's handle search takes: the start of a handle. */
const PREFIX = /^[a-z0-9.-]{1,64}$/;
/** Where an account without a domain of its own lives. */
const DEFAULT_DOMAIN = "bsky.social";

/** The handles starting with `prefix`, as the typeahead and the results page show them. */
export async function searchHandles(api: Api, prefix: string): Promise<SiteProfile[]> {
  const body = await api.json<{ items: ApiProfile[] }>(
    `/v1/actors/search?q=${encodeURIComponent(prefix)}&limit=8`,
  );
  return body.items.filter((p) => p.handle).map(siteProfile);
}

/**
 * A DID or a full handle is taken as it is; a bare name is the one handle starting with it,
 * else "name.bsky.social" when none does; several matches are offered to choose from.
 */
export async function findActor(api: Api, raw: string): Promise<Found> {
  const term = cleanActor(raw);
  if ((term.includes(".") && isValidHandle(term)) || isValidDid(term)) return { go: term };
  if (!PREFIX.test(term)) return { choose: [], term };
  const items = await searchHandles(api, term);
  if (items.length === 1) return { go: items[0].handle };
  if (items.length === 0 && BARE_NAME.test(term)) return { go: `${term}.${DEFAULT_DOMAIN}` };
  return { choose: items, term };
}
