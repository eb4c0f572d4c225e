/** The API's answers behind the circles page, and what the page builds from them. */
import { interactionCounts } from "@bsky/shared/interaction_counts";
import type { Dict } from "../i18n.ts";
import type { CircleOptions } from "../options.ts";
import type { z } from "zod";
import type * as api from "@bsky/fart/schemas";
import { type ApiProfile, personLabel } from "./profile.ts";

export type CirclesAnswer = z.infer<typeof api.circlesAnswer>;
export type InteractionsAnswer = z.infer<typeof api.interactionsAnswer>;
/** Someone placed in the image: the centre, or a person in a ring (with a score). */
export type Placed = CirclesAnswer["center"] & {
  score?: number;
  name?: CirclesAnswer["rings"][number]["people"][number]["name"];
};
/** What someone did, as the table shows it. */
export type Counts = Omit<InteractionsAnswer["items"][number], keyof ApiProfile>;

/** One row of the people table: someone in the image, with what they did. */
export interface PersonRow extends ApiProfile, Counts {
  ring: number;
}

export function peopleRows(circles: CirclesAnswer, interactions: InteractionsAnswer): PersonRow[] {
  const counts = new Map(interactions.items.map((i) => [i.did, i]));
  const zero = { like: 0, repost: 0, reply: 0, quote: 0, mention: 0, score: 0 };
  return circles.rings.flatMap((ring, i) =>
    ring.people.map((p) => {
      const c = counts.get(p.did) ?? { ...zero, score: p.score ?? 0 };
      const { did, handle, displayName, avatar } = p;
      return {
        did,
        handle,
        displayName,
        avatar,
        ring: i + 1,
        ...interactionCounts(c),
      };
    })
  );
}

/**
 * The image's text alternative: whose circles, which ones, and everyone in them by ring;
 * `period` names the week or month when one is chosen.
 */
export function altText(
  circles: CirclesAnswer,
  options: CircleOptions,
  t: Dict,
  period?: string,
): string {
  const windowName = period ?? { "24h": t.w24h, "7d": t.w7d, "30d": t.w30d }[options.window];
  const parts = [
    `${t.circlesOf} ${personLabel(circles.actor)} (${t[options.direction]}, ${windowName}).`,
  ];
  circles.rings.forEach((ring, i) => {
    if (ring.people.length === 0) return;
    parts.push(`${t.ring} ${i + 1}: ${ring.people.map(personLabel).join(", ")}.`);
  });
  if (circles.rings.every((r) => r.people.length === 0)) parts.push(t.nobody);
  return parts.join(" ");
}
