/**
 * GET /v1/circles/{actor}, .svg and .png: the people an account interacts with most on
 * rings around it, as a JSON layout or as the image. All three take the same query and
 * answer from one cache entry per actor, format and parsed query.
 */
import { type Profile, profiles, topInteractions } from "@bsky/store/queries";
import type { z } from "zod";
import type { Image } from "../avatar.ts";
import {
  type CircleLayout,
  circleLayout,
  type CircleOptions,
  renderCirclesSvg,
} from "../circles.ts";
import { canonicalQuery, HttpError, withEtag } from "../http.ts";
import { type PngPool, PngPoolFull } from "../png_pool.ts";
import { actorRoute, type RouteCtx, type Services } from "../route.ts";
import * as s from "../schemas.ts";
import { keepSeconds, skipOf, type Span, spanOf, withoutDefaultFilters } from "../selection.ts";
import { actorKey, apiProfile, jsonBytes } from "./answers.ts";

type Query = z.output<typeof s.circlesQuery>;
type Format = "json" | "svg" | "png";
type Ctx = RouteCtx<Query>;

export const RING_SIZES = { "8-15-26": [8, 15, 26], "10-20-30": [10, 20, 30] } as const;
const TYPES: Record<Format, string> = {
  json: "application/json",
  svg: "image/svg+xml",
  png: "image/png",
};

/** The circles of an account, placed: who is in them, drawn how. */
interface Placed {
  /** The account first, then the people ranked. */
  people: Profile[];
  options: CircleOptions;
  layout: CircleLayout;
}

/**
 * The cache key: the parsed query, not the raw one, so every spelling of the same circles
 * shares one key; the width only matters to a PNG.
 */
function cacheKey(ctx: Ctx, format: Format): string {
  const { width: _width, ...layout } = ctx.query;
  const shape = canonicalQuery(withoutDefaultFilters(format === "png" ? ctx.query : layout));
  return `c:${actorKey(ctx.params.actor)}:${format}:${shape}`;
}

/**
 * The account and the people its rings hold, best first, with their profiles, and each
 * one's score (0 for the account).
 */
export async function ranked(
  { params, query: q, services }: Pick<Ctx, "params" | "services"> & {
    query: Pick<Query, "direction" | "rings" | "sizes" | keyof typeof s.filterParams>;
  },
  span: Span,
): Promise<{ people: Profile[]; scores: number[] }> {
  const actor = await services.identity.actor(params.actor);
  const sizes = RING_SIZES[q.sizes].slice(0, q.rings);
  const items = await topInteractions(services.redis, actor.did, {
    direction: q.direction,
    windowHours: span.windowHours,
    limit: sizes.reduce((a, b) => a + b, 0),
    now: span.at,
    excludeBlocked: true,
    skip: await skipOf(services, actor.id, q, span),
  }) ?? [];
  const people = await profiles(services.redis, [actor.did, ...items.map((i) => i.did)]);
  return { people, scores: [0, ...items.map((i) => i.score)] };
}

function optionsOf(q: Query, title: Profile, span: Span): CircleOptions {
  const [from, to] = [new Date(span.from), new Date(span.to)];
  return {
    rings: q.rings as 1 | 2 | 3,
    ringSizes: q.sizes,
    background: q.bg,
    border: q.border,
    showDate: q.date,
    names: q.names,
    credit: q.credit,
    from,
    to,
    title: title.handle ? `@${title.handle}` : undefined,
  };
}

async function place(ctx: Ctx, span: Span): Promise<Placed> {
  const { people, scores } = await ranked(ctx, span);
  const options = optionsOf(ctx.query, people[0], span);
  const person = (p: Profile, k: number) => ({
    did: p.did,
    handle: p.handle,
    displayName: p.displayName,
    score: scores[k],
  });
  const layout = circleLayout(
    person(people[0], 0),
    people.slice(1).map((p, k) => person(p, k + 1)),
    options,
  );
  return { people, options, layout };
}

/** The JSON answer: the layout with each person's profile. */
function layoutAnswer(q: Query, span: Span, { people, options, layout }: Placed): Uint8Array {
  const index = new Map(people.map((p, k) => [p.did, k]));
  const placed = (p: { did: string; x: number; y: number; r: number }, k = index.get(p.did)!) => ({
    ...apiProfile(people[k]),
    x: p.x,
    y: p.y,
    r: p.r,
  });
  const answer: z.infer<typeof s.circlesAnswer> = {
    actor: apiProfile(people[0]),
    window: span.name,
    direction: q.direction,
    from: options.from.toISOString(),
    to: options.to.toISOString(),
    size: layout.size,
    center: placed(layout.center, 0),
    rings: layout.rings.map((ring) => ({
      radius: ring.radius,
      people: ring.people.map((p) => ({
        ...placed(p),
        score: p.score,
        ...(p.name ? { name: p.name } : {}),
      })),
    })),
  };
  return jsonBytes(answer);
}

/** The SVG, with the avatars that can be had embedded. */
async function svgOf(services: Services, { people, options, layout }: Placed): Promise<string> {
  const images = new Map<string, Image>();
  await Promise.all(people.map(async (p) => {
    if (!p.avatar) return;
    const image = await services.avatars.get(p.did, p.avatar).catch(() => undefined);
    if (image) images.set(p.did, image);
  }));
  return renderCirclesSvg(layout, images, options);
}

/** A PNG drawn by the renderer pool; a 503 with Retry-After when the pool is full. */
async function drawPng(png: PngPool, svg: () => Promise<string>, width: number) {
  try {
    return await png.render(svg, width);
  } catch (err) {
    if (!(err instanceof PngPoolFull)) throw err;
    throw new HttpError(503, "Too many pictures are being drawn: try again shortly", {}, {
      "retry-after": String(err.retryAfterSeconds),
    });
  }
}

/** Each format's answer, made when it is not cached. */
const MAKE: Record<Format, (ctx: Ctx, span: Span) => Promise<Uint8Array>> = {
  json: async (ctx, span) => layoutAnswer(ctx.query, span, await place(ctx, span)),
  svg: async (ctx, span) =>
    new TextEncoder().encode(await svgOf(ctx.services, await place(ctx, span))),
  // A PNG takes its place among the renders before anything is done for it.
  png: (ctx, span) =>
    drawPng(
      ctx.services.png,
      async () => svgOf(ctx.services, await place(ctx, span)),
      ctx.query.width,
    ),
};

function circles(format: Format, operationId: string, summary: string) {
  return actorRoute({
    name: "circles",
    path: `/v1/circles/{actor}${format === "json" ? "" : `.${format}`}`,
    operationId,
    summary,
    query: s.circlesQuery,
    answer: format === "json"
      ? { name: "Circles", schema: s.circlesAnswer }
      : { type: TYPES[format] },
    async handler(ctx) {
      const span = await spanOf(ctx.services, ctx.query.window, ctx.services.clock.now());
      const seconds = keepSeconds(ctx.services, span);
      const key = cacheKey(ctx, format);
      const body = await ctx.services.cache.get(key, () => MAKE[format](ctx, span), seconds);
      return await withEtag(ctx.req, body, TYPES[format], seconds);
    },
  });
}

export const circlesJson = circles(
  "json",
  "getCircles",
  "The circles layout: rings of people around the account",
);
export const circlesSvg = circles(
  "svg",
  "getCirclesSvg",
  "The circles image as SVG, avatars embedded",
);
export const circlesPng = circles(
  "png",
  "getCirclesPng",
  "The circles image as PNG (600 or 1200 px)",
);
