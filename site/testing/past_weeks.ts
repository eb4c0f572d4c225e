/**
 * Test fixture: two past weeks of interactions, for the circles' weeks, exclusions and
 * changes. The week before last, Alice likes Bob twice and Eve once; last week, Carol three
 * times and Eve once, and a bot likes Alice 1,100 times within one afternoon. Alice and Eve
 * follow each other.
 */
import type { FirehoseEvent } from "@bsky/shared/events";
import { created } from "@bsky/shared/testing/events";
import { HOUR_MS } from "@bsky/store/layout";
import { type Period, periodAt, previousPeriod } from "@bsky/store/periods";
import { tidOf } from "@bsky/store/testing/generate";
import { ALICE, BOB, CAROL, EVE } from "./stack.ts";

export const BOT = "did:plc:gggggggggggggggggggggggg";

/** Last week and the one before it as of `now`, and what happened in them. */
export function pastWeeks(now: number): { last: Period; before: Period; events: FirehoseEvent[] } {
  const last = previousPeriod(periodAt("week", now));
  const before = previousPeriod(last);
  let rk = 0;
  const like = (did: string, subject: string, at: number) =>
    created(did, "app.bsky.feed.like", tidOf(rk++), { subject }, at);
  const tuesday = (p: { start: number }) => p.start + 36 * HOUR_MS;
  const events = [
    like(ALICE, BOB, tuesday(before)),
    like(ALICE, BOB, tuesday(before) + 60_000),
    like(ALICE, EVE, tuesday(before) + 120_000),
    ...[0, 1, 2].map((k) => like(ALICE, CAROL, tuesday(last) + k * 60_000)),
    like(ALICE, EVE, tuesday(last) + 5 * 60_000),
    ...Array.from({ length: 1100 }, (_, k) => like(BOT, ALICE, tuesday(last) + k * 30_000)),
    created(ALICE, "app.bsky.graph.follow", "3kfollow22222", { subject: EVE }, tuesday(before)),
    created(EVE, "app.bsky.graph.follow", "3kfollow22223", { subject: ALICE }, tuesday(before)),
  ];
  return { last, before, events };
}
