import type { Handlers } from "../../server/types.ts";
import type { LiveAnswer } from "../../components/live.ts";

/** The live chart's source, polled by the browser. */
export const handler: Handlers = {
  async GET(_req, ctx) {
    const live = await ctx.api.json<LiveAnswer>("/v1/stats/live");
    return Response.json(live, { headers: { "cache-control": "no-store" } });
  },
};
