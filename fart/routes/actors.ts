/** GET /v1/actors/search: handles starting with a prefix. */
import { profiles, searchHandles } from "@bsky/store/queries";
import type { z } from "zod";
import { route } from "../route.ts";
import * as s from "../schemas.ts";
import { apiProfile, sendJson } from "./answers.ts";

export const search = route({
  name: "search",
  method: "GET",
  path: "/v1/actors/search",
  operationId: "searchActors",
  summary: "Handles starting with a prefix (typeahead)",
  query: s.searchQuery,
  answer: { name: "Search", schema: s.searchAnswer },
  errors: [400],
  etag: true,
  async handler(ctx) {
    const { redis } = ctx.services;
    const found = await searchHandles(redis, ctx.query.q.replace(/^@/, ""), ctx.query.limit);
    const ps = await profiles(redis, found.map((f) => f.did));
    const answer: z.infer<typeof s.searchAnswer> = { items: ps.map(apiProfile) };
    return await sendJson(ctx, answer);
  },
});
