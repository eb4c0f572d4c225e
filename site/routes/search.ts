import { cleanActor } from "../options.ts";
import type { Handlers } from "../server/types.ts";

/** The search form without JavaScript: straight to the circles of what was typed. */
export const query = ["q"];

export const handler: Handlers = {
  GET(_req, ctx) {
    const actor = cleanActor(ctx.url.searchParams.get("q") ?? "");
    const to = actor ? `/c/${encodeURIComponent(actor)}` : "/";
    return new Response(null, { status: 303, headers: { location: to } });
  },
};
