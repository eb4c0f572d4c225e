/** The queries of the API's endpoints as zod schemas, built from its parameters (params.ts). */
import { z } from "zod";
import { LANGUAGE_METRIC, LANGUAGE_WINDOWS, TOP_METRICS, TOP_WINDOWS } from "@bsky/shared/keys";
import { LANG } from "@bsky/shared/langs";
import { CREDIT } from "../circles.ts";
import {
  colour,
  filterParams,
  flag,
  intParam,
  MAX_LIMIT,
  ringParams,
  spanParams,
} from "./params.ts";

/** The query of an endpoint that takes no parameters: any one is a 400. */
export const noQuery = z.strictObject({});

export const interactionsQuery = z.strictObject({
  ...spanParams("7d"),
  limit: intParam(1, MAX_LIMIT, 30),
  ...filterParams,
});

export const circlesQuery = z.strictObject({
  ...spanParams("30d"),
  ...ringParams(),
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
  ...spanParams("7d"),
  ...ringParams(),
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
