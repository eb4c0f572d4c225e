/** GET /v1/interactions/{actor}: whom an account interacts with most. */
import { profiles, topInteractions, windowRange } from "@bsky/store/queries";
import type { z } from "zod";
import { withEtag } from "../http.ts";
import { route, type RouteCtx } from "../route.ts";
import * as s from "../schemas.ts";
import { actorKey, apiProfile, jsonBytes, windowLabel } from "./answers.ts";

type Query = z.output<typeof s.interactionsQuery>;

/** Errors of the routes that name an account. */
export const ACTOR_ERRORS = [400, 404, 410, 502];

async function build({ params, services }: RouteCtx<Query>, q: Query): Promise<Uint8Array> {
  const { identity, redis, clock } = services;
  const actor = await identity.actor(params.actor);
  const now = clock.now();
  const items = await topInteractions(redis, actor.did, {
    direction: q.direction,
    windowHours: q.window,
    limit: q.limit,
    now,
  }) ?? [];
  const ps = await profiles(redis, [actor.did, ...items.map((i) => i.did)]);
  const { from, to } = windowRange(q.window, now);
  const answer: z.infer<typeof s.interactionsAnswer> = {
    actor: apiProfile(ps[0]),
    window: windowLabel(q.window),
    direction: q.direction,
    from: from.toISOString(),
    to: to.toISOString(),
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
    const { cache, config } = ctx.services;
    // Keyed by the actor as asked, so that a cached answer needs no resolution at all.
    const key = `i:${actorKey(ctx.params.actor)}:${q.direction}:${q.window}:${q.limit}`;
    const body = await cache.get(key, () => build(ctx, q));
    return await withEtag(ctx.req, body, "application/json", config.FART_CACHE_SECONDS);
  },
});
