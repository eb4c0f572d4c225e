/** What the routes' answers share: profiles as the API shows them, windows by name, JSON. */
import type { Profile } from "@bsky/store/queries";
import type { z } from "zod";
import { withEtag } from "../http.ts";
import { parseActor } from "../identity.ts";
import type { RouteCtx } from "../route.ts";
import type * as s from "../schemas.ts";

export type ApiProfile = z.infer<typeof s.profile>;

const encoder = new TextEncoder();

/** An answer as the bytes sent, cached and tagged. */
export function jsonBytes(answer: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(answer));
}

/** A JSON answer made for this request, which clients may keep FART_CACHE_SECONDS. */
export function sendJson(ctx: RouteCtx, answer: unknown): Promise<Response> {
  const maxAge = ctx.services.config.FART_CACHE_SECONDS;
  return withEtag(ctx.req, jsonBytes(answer), "application/json", maxAge);
}

/**
 * A JSON answer kept in the answer cache under `key` (built on a miss, kept `seconds`, by
 * default FART_CACHE_SECONDS), sent with an ETag that clients may keep as long.
 */
export async function cachedJson(
  ctx: RouteCtx,
  key: string,
  build: () => Promise<unknown>,
  seconds?: number,
): Promise<Response> {
  const body = await ctx.services.cache.get(key, async () => jsonBytes(await build()), seconds);
  const maxAge = seconds ?? ctx.services.config.FART_CACHE_SECONDS;
  return await withEtag(ctx.req, body, "application/json", maxAge);
}

export function apiProfile(p: Profile): ApiProfile {
  return {
    did: p.did,
    handle: p.handle ?? null,
    displayName: p.displayName ?? null,
    avatar: p.avatar ? `/v1/avatar/${p.did}` : null,
  };
}

/** The actor parameter as a cache key part: a DID, or a lowercase handle (400 if neither). */
export function actorKey(raw: string): string {
  const a = parseActor(raw);
  return "did" in a ? a.did : a.handle;
}

/** A window's name as answers give it: days when whole days of two or more, else hours. */
export const windowLabel = (hours: number): string =>
  hours >= 48 && hours % 24 === 0 ? `${hours / 24}d` : `${hours}h`;
