/**
 * The API's settings (GET /v1/meta) as the site states them to visitors: checked against
 * the contract's shape and bounds worth printing, or left out when the API cannot say.
 */
import { z } from "zod";
import type * as schemas from "@bsky/fart/schemas";
import type { Api } from "../api.ts";
import { ApiError } from "./errors.ts";

/** The API's settings (GET /v1/meta): how long data is kept, the weights, the windows. */
export type Meta = z.infer<typeof schemas.metaAnswer>;

const positive = (max: number) => z.number().int().min(1).max(max);
const weight = z.number().min(0).max(1000);

/** The API's settings as the site takes them: the contract's shape, in bounds worth printing. */
const metaAnswer: z.ZodType<Meta> = z.object({
  retentionDays: positive(3650),
  recordMemoryHours: positive(24 * 365),
  weights: z.object({
    like: weight,
    repost: weight,
    reply: weight,
    quote: weight,
    mention: weight,
  }),
  windows: z.array(z.string().regex(/^[1-9]\d{0,3}[hd]$/)).max(16),
  maxLimit: positive(1_000_000),
});

/**
 * The API's settings, kept like any answer (SITE_CACHE_SECONDS, within the client's bounds),
 * or undefined when the API cannot say (away, limited, an answer that does not parse): the
 * pages that state them still answer, without the figures.
 */
export async function apiMeta(api: Pick<Api, "json">): Promise<Meta | undefined> {
  let answer: unknown;
  try {
    answer = await api.json<unknown>("/v1/meta");
  } catch (err) {
    if (err instanceof ApiError) return undefined;
    throw err;
  }
  if (typeof answer !== "object" || answer === null) return checked(answer);
  // A kept answer is the same object on every call until it expires: checked once.
  if (parsedAnswers.has(answer)) return parsedAnswers.get(answer);
  const meta = checked(answer);
  parsedAnswers.set(answer, meta);
  return meta;
}

/** Answers already checked, by the answer object the client keeps (dropped with it). */
const parsedAnswers = new WeakMap<object, Meta | undefined>();

function checked(answer: unknown): Meta | undefined {
  const parsed = metaAnswer.safeParse(answer);
  return parsed.success ? parsed.data : undefined;
}
