/** The API's answers as zod schemas: /openapi.json describes each endpoint's by them. */
import { z } from "zod";
import { indexerEnv } from "@bsky/indexer/config";
import { JOB_NAMES, LANGUAGE_LISTS, LANGUAGE_METRIC } from "@bsky/shared/keys";
import { direction } from "./params.ts";
import { TOP_LIST_METRICS, TOP_LIST_WINDOWS } from "./queries.ts";

export const profile = z.object({
  did: z.string(),
  handle: z.string().nullable(),
  displayName: z.string().nullable(),
  avatar: z.string().nullable().describe("URL of the avatar through this API's proxy"),
});

const counts = {
  like: z.number().int(),
  repost: z.number().int(),
  reply: z.number().int(),
  quote: z.number().int(),
  mention: z.number().int(),
};

/** Whose interactions an answer counts, in which direction, over which window. */
const windowHead = () => ({
  actor: profile,
  window: z.string(),
  direction,
  from: z.string().describe("Start of the window (ISO 8601, whole hours)"),
  to: z.string(),
});

export const interactionsAnswer = z.object({
  ...windowHead(),
  items: z.array(profile.extend({ ...counts, score: z.number() })),
});

export const circlesAnswer = z.object({
  ...windowHead(),
  size: z.number(),
  center: profile.extend({ x: z.number(), y: z.number(), r: z.number() }),
  rings: z.array(z.object({
    radius: z.number(),
    people: z.array(
      profile.extend({
        x: z.number(),
        y: z.number(),
        r: z.number(),
        score: z.number(),
        name: z.object({ text: z.string(), y: z.number(), size: z.number() }).optional()
          .describe("The name written under the avatar (names=true), centred on x"),
      }),
    ),
  })),
});

/** What an answer counts: a window or period by name, and its hours. */
const span = z.object({
  window: z.string().describe("The window (`7d`) or period (`week:2026-W47`) counted"),
  from: z.string().describe("Its first hour (ISO 8601, UTC)"),
  to: z.string().describe("The end of its last hour"),
});

const ringed = profile.extend({
  ring: z.number().int().describe("1 is the inner ring"),
  score: z.number(),
});

export const changesAnswer = z.object({
  actor: profile,
  direction,
  current: span,
  previous: span.describe(
    "The period before: the week or month before a period, the same number of hours before a rolling window",
  ),
  joined: z.array(ringed).describe("In the current circles, not in the previous ones"),
  left: z.array(ringed).describe("In the previous circles (ring and score then), not now"),
  moved: z.array(profile.extend({
    from: z.number().int().describe("The ring before"),
    to: z.number().int().describe("The ring now"),
    score: z.number().describe("The score now"),
  })).describe("In both, on another ring"),
  stayed: z.number().int().describe("How many are on the same ring in both"),
}).describe(
  "Who joined the circles, who left and who moved rings, from the previous period of the same kind to this one, with the same options and filters; best first in each list",
);

export const topAnswer = z.object({
  metric: z.enum(TOP_LIST_METRICS),
  window: z.enum(TOP_LIST_WINDOWS),
  lang: z.string().optional().describe(`With metric=${LANGUAGE_METRIC}: the language`),
  languages: z.array(z.object({
    lang: z.string(),
    posts: z.number().int(),
    posters: z.number().int(),
  })).optional().describe(
    `With metric=${LANGUAGE_METRIC}: the languages with a list over the window, most posts first, with their posts and posters (hidden accounts left out)`,
  ),
  computedAt: z.string(),
  items: z.array(profile.extend({ count: z.number().int() })).describe(
    `With metric=${LANGUAGE_METRIC}, count is posts in the language (a post in two counts in both); empty for a language without a list (the ${LANGUAGE_LISTS} with the most posts over 72 h have one)`,
  ),
});

export const blocksAnswer = z.object({
  actor: profile,
  direction: z.enum(["blocked-by", "blocking"]),
  counts: z.object({
    blockedBy: z.number().int().describe("Accounts that block it"),
    blocking: z.number().int().describe("Accounts it blocks"),
  }).describe("Both directions, whatever the page asks for"),
  items: z.array(profile.extend({
    since: z.string().describe("The minute the block was made (ISO 8601, whole minutes, UTC)"),
  })).describe("Newest block first; a page may hold fewer than `limit` and still have a next"),
  cursor: z.string().nullable().describe("Pass as `cursor` for the next page; null on the last"),
}).describe(
  "Blocks as they stand, of any age. Accounts that are deleted, deactivated, taken down or opted out are left out of the items and of both counts",
);

export const liveAnswer = z.object({
  now: z.string(),
  eventsPerSecond: z.number().nullable().describe(
    "Over the last minute up to now: 0 when nothing arrived",
  ),
  byCollection: z.record(z.string(), z.number()).describe(
    "Events per second by collection, over the same minute",
  ),
  lagSeconds: z.number().nullable().describe("Age of the newest event published"),
  indexerBacklog: z.number().describe("Events published and not yet applied"),
  activeAccounts: z.number().describe("Distinct accounts among the newest events"),
  sampledEvents: z.number(),
  postsPerSecond: z.number().describe("Posts created per second, over the same minute"),
  postLanguages: z.array(z.object({
    lang: z.string().describe("A primary language subtag: en, pt, ja…"),
    postsPerSecond: z.number(),
    share: z.number().describe("Of all posts created, those in this language, 0 to 1"),
  })).describe(
    "The network's posts by the languages they are written in (their langs' primary subtags), over the same minute, most first, at most 12; a post in two languages counts in both, one that names none in no language's share",
  ),
});

export const jobsAnswer = z.object({
  jobs: z.array(z.object({
    job: z.enum(JOB_NAMES),
    outcome: z.enum(["ok", "failed", "never"]).describe("How the last run ended"),
    startedAt: z.string().nullable(),
    durationMs: z.number().nullable(),
    error: z.string().nullable().describe("The last run's error, when it failed"),
    lastSuccessAt: z.string().nullable(),
    details: z.record(z.string(), z.unknown()).describe("What the last run did"),
  })),
});

export const searchAnswer = z.object({ items: z.array(profile) });

export const optoutAnswer = z.object({
  did: z.string(),
  handle: z.string().nullable(),
  action: z.enum(["out", "in"]).describe("out: hide the account; in: show it again"),
  code: z.string(),
  text: z.string().describe("What the account posts (alone or within a post) to confirm"),
  state: z.enum(["waiting", "done"]).describe("done once the firehose carried the post"),
  expiresAt: z.string().describe("When the code stops working unless posted"),
});

/** What the indexer keeps by default: /v1/meta says so until the indexer has said otherwise. */
export const INDEXER_DEFAULTS = {
  retentionDays: indexerEnv.INDEXER_RETENTION_DAYS.parse(undefined),
  recordMemoryHours: indexerEnv.INDEXER_RECORD_MEMORY_HOURS.parse(undefined),
};

export const metaAnswer = z.object({
  retentionDays: z.number().int().describe(
    "Days interactions are kept before they are dropped for good (the indexer's INDEXER_RETENTION_DAYS)",
  ),
  recordMemoryHours: z.number().int().describe(
    "Hours what a like or post pointed at is remembered, only so that a delete can be subtracted (the indexer's INDEXER_RECORD_MEMORY_HOURS)",
  ),
  weights: z.object({
    like: z.number(),
    repost: z.number(),
    reply: z.number(),
    quote: z.number(),
    mention: z.number(),
  }).describe("Points each interaction adds to a score"),
  windows: z.array(z.string()).describe(
    "Windows by name that every window parameter takes (any whole number of hours or days from 1h to the longest is taken too)",
  ),
  maxLimit: z.number().int().describe("The largest `limit` of /v1/interactions"),
}).describe(
  `The settings the site states to its visitors. retentionDays and recordMemoryHours are the ones the indexer wrote when it last started; before it first ran, its defaults (${INDEXER_DEFAULTS.retentionDays} days, ${INDEXER_DEFAULTS.recordMemoryHours} hours)`,
);

export const healthAnswer = z.object({
  ok: z.boolean().describe("Whether the API can answer: its Redis connection is ready"),
  redis: z.string().describe("The Redis connection's state, such as ready or reconnecting"),
});

export const errorAnswer = z.object({
  error: z.string().describe("The status by name, such as BadRequest or NotFound"),
  message: z.string().describe("What went wrong, for people"),
  parameter: z.string().optional().describe("The parameter that is wrong (400)"),
  did: z.string().optional().describe("The account that is not shown (410)"),
  status: z.string().optional().describe("Why it is not shown: opted out, deactivated, …"),
});
