/** The API's parameters and answers as zod schemas: they validate, and /openapi.json is built from them. */
import { z } from "zod";
import { indexerEnv } from "@bsky/indexer/config";
import {
  JOB_NAMES,
  LANGUAGE_LISTS,
  LANGUAGE_METRIC,
  LANGUAGE_WINDOWS,
  TOP_METRICS,
  TOP_WINDOWS,
} from "@bsky/shared/keys";
import { LANG } from "@bsky/shared/langs";
import { CREDIT } from "./circles.ts";
import { isValidDid, isValidHandle } from "@bsky/shared/syntax";
import { parsePeriod } from "@bsky/store/periods";
import { BOT_DAY_INTERACTIONS } from "@bsky/store/circle_filters";

export const MAX_WINDOW_HOURS = 30 * 24;
/** The most people /v1/interactions lists (its `limit`). */
export const MAX_LIMIT = 100;

/** "1h" … "720h", "1d" … "30d" → hours. */
export const windowParam = z.string().regex(/^\d{1,4}[hd]$/, "is not a window such as 24h or 7d")
  .meta({ description: "Hours or days back from now, 1h to 30d (720h)" })
  .transform((w, ctx) => {
    const hours = Number(w.slice(0, -1)) * (w.endsWith("d") ? 24 : 1);
    if (hours < 1 || hours > MAX_WINDOW_HOURS) {
      ctx.addIssue({ code: "custom", message: "is not between 1h and 30d" });
      return z.NEVER;
    }
    return hours;
  });

/** A whole number given as digits; /openapi.json describes it by the number it stands for. */
const intParam = (min: number, max: number, fallback: number) =>
  z.string().regex(/^\d{1,6}$/, "is not a whole number").transform(Number)
    .pipe(z.number().int().min(min, `is below ${min}`).max(max, `is above ${max}`))
    .default(fallback);

const direction = z.enum(["sent", "received", "both", "mutual"], {
  error: "is not one of sent, received, both, mutual",
});
const colour = z.string().regex(/^#?[0-9a-fA-F]{6}$/, "is not a colour such as 1d4ed8")
  .meta({ description: "A colour as six hex digits, with or without #" })
  .transform((c) => `#${c.replace(/^#/, "").toLowerCase()}`);
const flag = z.enum(["true", "false", "1", "0"], { error: "is not true or false" })
  .transform((v) => v === "true" || v === "1");

/**
 * A rolling window ("7d": hours or days back from now) as hours, or a calendar period by
 * its canonical name: an ISO 8601 week (`week:2026-W47`, Monday 00:00 UTC to the next
 * Monday) or a calendar month in UTC (`month:2026-11`). Whether a period is within the
 * retention and has started is checked against the clock by the handler (a 400 too).
 */
export const spanParam = z.string()
  .regex(
    /^(?:\d{1,4}[hd]|week:\d{4}-[Ww]\d{2}|month:\d{4}-\d{2})$/,
    "is not a window such as 24h or 7d, nor a period such as week:2026-W47 or month:2026-11",
  )
  .meta({
    description:
      "Hours or days back from now (1h to 30d, 720h), or a period in UTC: an ISO 8601 week, `week:2026-W47` (Monday 00:00 to the next Monday), or a calendar month, `month:2026-11`. A period must have started, and start within the retention (`retentionDays` of /v1/meta); a period still running is counted up to the end of the current hour. Periods start at 00:00 UTC, so their counts are exact",
  })
  .transform((w, ctx): number | string => {
    if (/^\d/.test(w)) {
      const hours = windowParam.safeParse(w);
      if (hours.success) return hours.data;
      ctx.addIssue({ code: "custom", message: "is not between 1h and 30d" });
      return z.NEVER;
    }
    const period = parsePeriod(w);
    if (!period) {
      ctx.addIssue({ code: "custom", message: "is not a week of that year or a month" });
      return z.NEVER;
    }
    return period.name;
  });

/** The most accounts `exclude` may name. */
export const MAX_EXCLUDE = 25;

/** The filters of the circles, their interactions and their changes. */
export const filterParams = {
  exclude: z.string().max(MAX_EXCLUDE * 260, "is too long")
    .describe(
      `Accounts to leave out: handles or DIDs, comma-separated, at most ${MAX_EXCLUDE}. A handle this API has never seen has nothing to leave out`,
    )
    .transform((list, ctx) => {
      const names = [
        ...new Set(
          list.split(",").map((a) => a.trim().replace(/^@/, "")).filter((a) => a !== "")
            .map((a) => a.startsWith("did:") ? a : a.toLowerCase()),
        ),
      ].sort();
      const wrong = names.find((a) => !(a.startsWith("did:") ? isValidDid(a) : isValidHandle(a)));
      if (wrong !== undefined) {
        ctx.addIssue({
          code: "custom",
          message: `names ${JSON.stringify(wrong)}, not a handle or DID`,
        });
        return z.NEVER;
      }
      if (names.length > MAX_EXCLUDE) {
        ctx.addIssue({ code: "custom", message: `names more than ${MAX_EXCLUDE} accounts` });
        return z.NEVER;
      }
      return names;
    })
    .prefault(""),
  mutuals: z.enum(["all", "only", "none"], { error: "is not all, only or none" }).default("all")
    .describe(
      "only: just the accounts that follow the account and that it follows back; none: everyone but them (the follows as they stand now)",
    ),
  bots: z.enum(["show", "hide"], { error: "is not show or hide" }).default("show")
    .describe(
      `hide: leave out accounts that sent more than ${
        BOT_DAY_INTERACTIONS.toLocaleString("en")
      } interactions (to anyone) within one UTC day of the window, a machine's rate; days are counted as the window counts them`,
    ),
};

/** The query of an endpoint that takes no parameters: any one is a 400. */
export const noQuery = z.strictObject({});

export const interactionsQuery = z.strictObject({
  direction: direction.default("both"),
  window: spanParam.prefault("7d"),
  limit: intParam(1, MAX_LIMIT, 30),
  ...filterParams,
});

export const circlesQuery = z.strictObject({
  direction: direction.default("both"),
  window: spanParam.prefault("30d"),
  rings: intParam(1, 3, 3),
  sizes: z.enum(["8-15-26", "10-20-30"], { error: "is not 8-15-26 or 10-20-30" }).default(
    "8-15-26",
  ),
  // Defaults as a client would write them (prefault), so that /openapi.json can show them.
  bg: colour.prefault("0f172a"),
  border: colour.prefault("38bdf8"),
  date: flag.prefault("true"),
  names: flag.prefault("false"),
  credit: z.string().regex(CREDIT, "is not a host name").or(z.literal("")).prefault("")
    .describe("The address of the site showing the image, written small at the bottom right"),
  width: z.enum(["600", "1200"], { error: "is not 600 or 1200" }).transform(Number).prefault("600"),
  ...filterParams,
});

export const changesQuery = z.strictObject({
  direction: direction.default("both"),
  window: spanParam.prefault("7d"),
  rings: intParam(1, 3, 3),
  sizes: z.enum(["8-15-26", "10-20-30"], { error: "is not 8-15-26 or 10-20-30" }).default(
    "8-15-26",
  ),
  ...filterParams,
});

/** Every metric of /v1/stats/top: the interaction lists, and posts in a language. */
export const TOP_LIST_METRICS = [...TOP_METRICS, LANGUAGE_METRIC] as const;
/** Every window of /v1/stats/top: the interaction lists' and the languages' (72h). */
export const TOP_LIST_WINDOWS = ["24h", "72h", "7d"] as const;

export const topQuery = z.strictObject({
  metric: z.enum(TOP_LIST_METRICS, { error: `is not one of ${TOP_LIST_METRICS.join(", ")}` })
    .describe(`${LANGUAGE_METRIC}: the accounts that posted most in \`lang\``),
  window: z.enum(TOP_LIST_WINDOWS, { error: `is not one of ${TOP_LIST_WINDOWS.join(", ")}` })
    .default("24h").describe(
      `${TOP_WINDOWS.join(" or ")}; with metric=${LANGUAGE_METRIC}, ${
        LANGUAGE_WINDOWS.join(" or ")
      }`,
    ),
  lang: z.string().regex(LANG, "is not a language subtag of 2 or 3 lowercase letters, such as pt")
    .or(z.literal("")).default("").describe(
      `With metric=${LANGUAGE_METRIC} only, and needed there: the language, as the primary subtag of the posts' langs (en, pt, ja…)`,
    ),
}).superRefine((q, ctx) => {
  const issue = (path: string, message: string) =>
    ctx.addIssue({ code: "custom", path: [path], message });
  if (q.metric === LANGUAGE_METRIC) {
    if (q.lang === "") issue("lang", `is needed with metric=${LANGUAGE_METRIC}`);
    if (!(LANGUAGE_WINDOWS as readonly string[]).includes(q.window)) {
      issue(
        "window",
        `is not ${LANGUAGE_WINDOWS.join(" or ")} (the windows of metric=${LANGUAGE_METRIC})`,
      );
    }
  } else {
    if (q.lang !== "") issue("lang", `is only taken with metric=${LANGUAGE_METRIC}`);
    if (!(TOP_WINDOWS as readonly string[]).includes(q.window)) {
      issue("window", `is not ${TOP_WINDOWS.join(" or ")} (the windows of metric=${q.metric})`);
    }
  }
});

/** The most accounts a page of /v1/blocks lists (its `limit`). */
export const MAX_BLOCKS_LIMIT = 100;
/** A cursor as /v1/blocks gives it: a page's end, opaque to clients. */
export const BLOCKS_CURSOR = /^[0-9a-z]{1,11}$/;

export const blocksQuery = z.strictObject({
  direction: z.enum(["blocked-by", "blocking"], { error: "is not blocked-by or blocking" })
    .default("blocked-by")
    .describe("blocked-by: who blocks the account; blocking: whom it blocks"),
  limit: intParam(1, MAX_BLOCKS_LIMIT, 50),
  cursor: z.string().regex(BLOCKS_CURSOR, "is not a cursor this API gave").or(z.literal(""))
    .default("").describe("The `cursor` of the page before; empty for the first page"),
});

export const optoutQuery = z.strictObject({
  action: z.enum(["out", "in"], { error: "is not out or in" }).default("out"),
});

export const searchQuery = z.strictObject({
  q: z.string().regex(/^@?[a-zA-Z0-9.-]{1,64}$/, "is not the start of a handle"),
  limit: intParam(1, 25, 10),
});

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

export const interactionsAnswer = z.object({
  actor: profile,
  window: z.string(),
  direction,
  from: z.string().describe("Start of the window (ISO 8601, whole hours)"),
  to: z.string(),
  items: z.array(profile.extend({ ...counts, score: z.number() })),
});

export const circlesAnswer = z.object({
  actor: profile,
  window: z.string(),
  direction,
  from: z.string().describe("Start of the window (ISO 8601, whole hours)"),
  to: z.string(),
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
