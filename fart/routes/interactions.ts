/** GET /v1/interactions/{actor}: whom an account interacts with most. */
import { interactionCounts } from "@bsky/shared/interaction_counts";
import { profiles, topInteractions } from "@bsky/store/queries";
import type { z } from "zod";
import { canonicalQuery } from "../http.ts";
import { actorRoute, type RouteCtx } from "../route.ts";
import * as s from "../schemas.ts";
import { keepSeconds, skipOf, type Span, spanOf, withoutDefaultFilters } from "../selection.ts";
import { actorKey, apiProfile, cachedJson } from "./answers.ts";

type Query = z.output<typeof s.interactionsQuery>;

async function build(
  { params, services }: RouteCtx<Query>,
  q: Query,
  span: Span,
): Promise<z.infer<typeof s.interactionsAnswer>> {
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
  return {
    actor: apiProfile(ps[0]),
    window: span.name,
    direction: q.direction,
    from: new Date(span.from).toISOString(),
    to: new Date(span.to).toISOString(),
    items: items.map((c, k) => ({
      ...apiProfile(ps[k + 1]),
      ...interactionCounts(c),
    })),
  };
}

export const interactions = actorRoute({
  name: "interactions",
  path: "/v1/interactions/{actor}",
  operationId: "getInteractions",
  summary: "Whom an account interacts with most, ranked by score, with counts per type",
  query: s.interactionsQuery,
  answer: { name: "Interactions", schema: s.interactionsAnswer },
  async handler(ctx) {
    const q = ctx.query;
    const { clock } = ctx.services;
    const span = await spanOf(ctx.services, q.window, clock.now());
    const seconds = keepSeconds(ctx.services, span);
    // Keyed by the actor as asked, so that a cached answer needs no resolution at all.
    const key = `i:${actorKey(ctx.params.actor)}:${canonicalQuery(withoutDefaultFilters(q))}`;
    return await cachedJson(ctx, key, () => build(ctx, q, span), seconds);
  },
});
