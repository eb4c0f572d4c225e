/** GET /v1/blocks/{actor}: who blocks an account and whom it blocks, a page at a time. */
import { blockPage, profiles } from "@bsky/store/queries";
import type { z } from "zod";
import { badParameter } from "../http.ts";
import { actorRoute, type RouteCtx } from "../route.ts";
import * as s from "../schemas.ts";
import { actorKey, apiProfile, cachedJson } from "./answers.ts";

type Query = z.output<typeof s.blocksQuery>;

/** The largest score a block has: minute * 2^28 + id, within 2^53. */
const MAX_SCORE = 2 ** 53 - 1;

/** A page's end as clients get it: its score in base 36, opaque to them. */
export const encodeCursor = (score: number): string => score.toString(36);

/** The score a cursor stands for; a 400 naming `cursor` for one this API did not give. */
export function decodeCursor(cursor: string): number {
  const score = s.BLOCKS_CURSOR.test(cursor) ? parseInt(cursor, 36) : NaN;
  if (!Number.isSafeInteger(score) || score > MAX_SCORE || encodeCursor(score) !== cursor) {
    throw badParameter("cursor", cursor, "is not a cursor this API gave");
  }
  return score;
}

async function build(
  { params, services }: RouteCtx<Query>,
  q: Query,
): Promise<z.infer<typeof s.blocksAnswer>> {
  const { identity, redis } = services;
  const cursor = q.cursor === "" ? undefined : decodeCursor(q.cursor);
  const actor = await identity.actor(params.actor);
  const page = await blockPage(redis, actor.did, {
    direction: q.direction,
    limit: q.limit,
    cursor,
  });
  const ps = await profiles(redis, [actor.did, ...page.items.map((i) => i.did)]);
  return {
    actor: apiProfile(ps[0]),
    direction: q.direction,
    counts: page.counts,
    items: page.items.map((item, k) => ({
      ...apiProfile(ps[k + 1]),
      since: new Date(item.since).toISOString(),
    })),
    cursor: page.next === undefined ? null : encodeCursor(page.next),
  };
}

export const blocks = actorRoute({
  name: "blocks",
  path: "/v1/blocks/{actor}",
  operationId: "getBlocks",
  summary: "Who blocks an account, or whom it blocks, newest first, with both counts",
  query: s.blocksQuery,
  answer: { name: "Blocks", schema: s.blocksAnswer },
  async handler(ctx) {
    const { direction, limit, cursor } = ctx.query;
    // A wrong cursor is a 400 before anything is looked up or kept.
    if (cursor !== "") decodeCursor(cursor);
    const key = `b:${actorKey(ctx.params.actor)}:${direction}:${limit}:${cursor}`;
    return await cachedJson(ctx, key, () => build(ctx, ctx.query));
  },
});
