/**
 * GET /v1/meta: the settings the site states to visitors, from where they are defined: how
 * long the indexer keeps interactions and records (what it wrote at start into its settings
 * hash, or its defaults before it first ran), the score's weights, the windows by name and
 * the largest limit this API takes.
 */
import { TOP_WINDOWS } from "@bsky/shared/keys";
import type { Redis } from "@bsky/shared/redis";
import { storeKeys } from "@bsky/store/layout";
import { DEFAULT_WEIGHTS } from "@bsky/store/queries";
import type { z } from "zod";
import { withEtag } from "../http.ts";
import { route } from "../route.ts";
import * as s from "../schemas.ts";
import { jsonBytes, windowLabel } from "./answers.ts";

/** How long clients may keep the answer: the indexer may restart with other settings. */
export const META_SECONDS = 60;

/**
 * The windows by name: the top lists' and the longest any window parameter takes, shortest
 * first. Each is parsed as the API parses a window, so none is one it would refuse.
 */
export const NAMED_WINDOWS: readonly string[] = [
  ...new Set([...TOP_WINDOWS, windowLabel(s.MAX_WINDOW_HOURS)]),
].map((name) => ({ name, hours: s.windowParam.parse(name) }))
  .sort((a, b) => a.hours - b.hours).map((w) => w.name);

/** A whole number of a settings hash, if it holds one. */
const whole = (v: string | undefined) => v && /^[1-9]\d{0,5}$/.test(v) ? Number(v) : undefined;

/** What the indexer keeps, as it last said, else its defaults. */
export async function indexerSettings(redis: Redis) {
  const h = await redis.hgetall(storeKeys.settings);
  return {
    retentionDays: whole(h.retentionDays) ?? s.INDEXER_DEFAULTS.retentionDays,
    recordMemoryHours: whole(h.recordMemoryHours) ?? s.INDEXER_DEFAULTS.recordMemoryHours,
  };
}

export const meta = route({
  name: "meta",
  method: "GET",
  path: "/v1/meta",
  operationId: "getMeta",
  summary:
    "The settings the site states to visitors: how long data is kept, the score's weights, the windows and the largest limit",
  answer: { name: "Meta", schema: s.metaAnswer },
  errors: [],
  etag: true,
  async handler(ctx) {
    const w = DEFAULT_WEIGHTS;
    const answer: z.infer<typeof s.metaAnswer> = {
      ...await indexerSettings(ctx.services.redis),
      weights: {
        like: w.like,
        repost: w.repost,
        reply: w.reply,
        quote: w.quote,
        mention: w.mention,
      },
      windows: [...NAMED_WINDOWS],
      maxLimit: s.MAX_LIMIT,
    };
    return await withEtag(ctx.req, jsonBytes(answer), "application/json", META_SECONDS);
  },
});
