/**
 * GET /v1/circles/{actor}/changes: who joined an account's circles, who left and who moved
 * rings, from the previous period to this one. Both circles are ranked exactly as
 * GET /v1/circles ranks them (the same direction, rings, sizes and filters), each over its
 * own span: the week or month before a period, the same number of hours before a rolling
 * window.
 */
import type { Profile } from "@bsky/store/queries";
import type { z } from "zod";
import { canonicalQuery } from "../http.ts";
import { actorRoute, type RouteCtx } from "../route.ts";
import * as s from "../schemas.ts";
import { keepSeconds, previousSpan, type Span, spanOf } from "../selection.ts";
import { actorKey, apiProfile, cachedJson } from "./answers.ts";
import { ranked, RING_SIZES } from "./circles.ts";

type Query = z.output<typeof s.changesQuery>;

/** Someone on a ring: their rank overall (0 is the best) and their ring (1 is the inner). */
export interface Ringed {
  did: string;
  rank: number;
  ring: number;
}

/** The people of ranked circles on their rings: `dids` best first, `sizes` inner first. */
export function onRings(dids: readonly string[], sizes: readonly number[]): Ringed[] {
  const out: Ringed[] = [];
  let ring = 0, left = sizes[0];
  for (let rank = 0; rank < dids.length; rank++) {
    while (left === 0 && ring < sizes.length - 1) left = sizes[++ring];
    if (left === 0) break;
    out.push({ did: dids[rank], rank, ring: ring + 1 });
    left--;
  }
  return out;
}

/** Who joined, left, moved and stayed from the previous circles to the current ones. */
export function compareRings(current: readonly Ringed[], previous: readonly Ringed[]) {
  const before = new Map(previous.map((p) => [p.did, p]));
  const now = new Set(current.map((p) => p.did));
  const joined: Ringed[] = [], moved: { now: Ringed; before: Ringed }[] = [];
  let stayed = 0;
  for (const p of current) {
    const b = before.get(p.did);
    if (!b) joined.push(p);
    else if (b.ring !== p.ring) moved.push({ now: p, before: b });
    else stayed++;
  }
  const left = previous.filter((p) => !now.has(p.did));
  return { joined, left, moved, stayed };
}

async function build(
  ctx: RouteCtx<Query>,
  current: Span,
  previous: Span,
): Promise<z.infer<typeof s.changesAnswer>> {
  const q = ctx.query;
  const sizes = RING_SIZES[q.sizes].slice(0, q.rings);
  const [cur, prev] = await Promise.all([ranked(ctx, current), ranked(ctx, previous)]);
  const rings = (r: { people: Profile[] }) => onRings(r.people.slice(1).map((p) => p.did), sizes);
  const [nowRings, beforeRings] = [rings(cur), rings(prev)];
  const { joined, left, moved, stayed } = compareRings(nowRings, beforeRings);
  const person = (r: { people: Profile[]; scores: number[] }, p: Ringed) => ({
    ...apiProfile(r.people[p.rank + 1]),
    ring: p.ring,
    score: r.scores[p.rank + 1],
  });
  const spanOfAnswer = (span: Span) => ({
    window: span.name,
    from: new Date(span.from).toISOString(),
    to: new Date(span.to).toISOString(),
  });
  return {
    actor: apiProfile(cur.people[0]),
    direction: q.direction,
    current: spanOfAnswer(current),
    previous: spanOfAnswer(previous),
    joined: joined.map((p) => person(cur, p)),
    left: left.map((p) => person(prev, p)),
    moved: moved.map(({ now, before }) => {
      const { ring: _, ...p } = person(cur, now);
      return { ...p, from: before.ring, to: now.ring };
    }),
    stayed,
  };
}

export const changes = actorRoute({
  name: "changes",
  path: "/v1/circles/{actor}/changes",
  operationId: "getCirclesChanges",
  summary:
    "Who joined the circles, who left and who moved rings since the previous period of the same kind",
  query: s.changesQuery,
  answer: { name: "CirclesChanges", schema: s.changesAnswer },
  async handler(ctx) {
    const { clock } = ctx.services;
    const now = clock.now();
    const current = await spanOf(ctx.services, ctx.query.window, now);
    const previous = await previousSpan(ctx.services, current, now);
    // The previous span is older: final whenever the current one is.
    const seconds = keepSeconds(ctx.services, current);
    const key = `ch:${actorKey(ctx.params.actor)}:${canonicalQuery(ctx.query)}`;
    return await cachedJson(ctx, key, () => build(ctx, current, previous), seconds);
  },
});
