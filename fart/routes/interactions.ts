/** GET /v1/interactions/{actor}: whom an account interacts with most. */
import { profiles, topInteractions } from "@bsky/store/queries";
import type { z } from "zod";
import { canonicalQuery, withEtag } from "../http.ts";
import { route, type RouteCtx } from "../route.ts";
import * as s from "../schemas.ts";
import { keepSeconds, skipOf, type Span, spanOf, withoutDefaultFilters } from "../selection.ts";
import { actorKey, apiProfile, jsonBytes } from "./answers.ts";

type Query = z.output<typeof s.interactionsQuery>;

/** Errors of the routes that name an account. */
export const ACTOR_ERRORS = [400, 404, 410, 502];

async function build(
  { params, services }: RouteCtx<Query>,
  q: Query,
  span: Span,
): Promise<Uint8Array> {
  const { identity, redis } = services;
  const actor = await identity.actor(params.actor);
  const items = await topInteractions(redis, actor.did, {
    direction: q.direction,
    windowHours: span.windowHours,
    limit: q.limit,
    now: span.at,
    skip: await skipOf(services, actor.id, q, span),
  }) ?? [];
  const ps = await profiles(redis, [actor.did, ...items.map((i) => i.did)]);
  const answer: z.infer<typeof s.interactionsAnswer> = {
    actor: apiProfile(ps[0]),
    window: span.name,
    direction: q.direction,
    from: new Date(span.from).toISOString(),
    to: new Date(span.to).toISOString(),
    items: items.map((c, k) => ({
      ...apiProfile(ps[k + 1]),
      like: c.like,
      repost: c.repost,
      reply: c.reply,
      quote: c.quote,
      mention: c.mention,
      score: c.score,
    })),
  };
  return jsonBytes(answer);
}

export const interactions = route({
  name: "interactions",
  method: "GET",
  path: "/v1/interactions/{actor}",
  operationId: "getInteractions",
  summary: "Whom an account interacts with most, ranked by score, with counts per type",
  query: s.interactionsQuery,
  answer: { name: "Interactions", schema: s.interactionsAnswer },
  errors: ACTOR_ERRORS,
  etag: true,
  async handler(ctx) {
    const q = ctx.query;
    const { cache, clock } = ctx.services;
    const span = await spanOf(ctx.services, q.window, clock.now());
    const seconds = keepSeconds(ctx.services, span);
    // Keyed by the actor as asked, so that a cached answer needs no resolution at all.
    const key = `i:${actorKey(ctx.params.actor)}:${canonicalQuery(withoutDefaultFilters(q))}`;
    const body = await cache.get(key, () => build(ctx, q, span), seconds);
    return await withEtag(ctx.req, body, "application/json", seconds);
  },
});
