import { CONTROL } from "../../options.ts";
import type { Handlers } from "../../server/types.ts";
import { type ApiProfile, siteProfile } from "../../components/profile.ts";

/** The typeahead's source: the API's handle search, with avatars through this site. */
export const query = ["q"];

export const handler: Handlers = {
  async GET(_req, ctx) {
    const raw = ctx.url.searchParams.get("q") ?? "";
    if (CONTROL.test(raw)) {
      return Response.json({ error: "q has a control character" }, { status: 400 });
    }
    const q = raw.trim().replace(/^@/, "");
    if (!/^[a-zA-Z0-9.-]{1,64}$/.test(q)) return Response.json({ items: [] });
    const body = await ctx.api.json<{ items: ApiProfile[] }>(
      `/v1/actors/search?q=${encodeURIComponent(q)}&limit=8`,
    );
    const items = body.items.filter((p) => p.handle).map(siteProfile);
    return Response.json({ items }, { headers: { "cache-control": "public, max-age=30" } });
  },
};
