/**
 * The API's query parameters as zod schemas, shared by its endpoints' queries (queries.ts):
 * windows and periods, whole numbers, colours, flags and the circles' filters. Each says
 * what is wrong in a 400's words, and describes itself for /openapi.json.
 */
import { z } from "zod";
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
export const intParam = (min: number, max: number, fallback: number) =>
  z.string().regex(/^\d{1,6}$/, "is not a whole number").transform(Number)
    .pipe(z.number().int().min(min, `is below ${min}`).max(max, `is above ${max}`))
    .default(fallback);

export const direction = z.enum(["sent", "received", "both", "mutual"], {
  error: "is not one of sent, received, both, mutual",
});
export const colour = z.string().regex(/^#?[0-9a-fA-F]{6}$/, "is not a colour such as 1d4ed8")
  .meta({ description: "A colour as six hex digits, with or without #" })
  .transform((c) => `#${c.replace(/^#/, "").toLowerCase()}`);
export const flag = z.enum(["true", "false", "1", "0"], { error: "is not true or false" })
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

/** Whose interactions (`direction`, both by default) over which window or period. */
export const spanParams = (window: string) => ({
  direction: direction.default("both"),
  window: spanParam.prefault(window),
});

/** How many rings the circles have, and how many people each holds. */
export const ringParams = () => ({
  rings: intParam(1, 3, 3),
  sizes: z.enum(["8-15-26", "10-20-30"], { error: "is not 8-15-26 or 10-20-30" }).default(
    "8-15-26",
  ),
});
