/**
 * One route of the API as the table (routes.ts) declares it: method, path, the zod schema
 * of its query, the schema of its answer, its handler. The router dispatches by it and
 * validates parameters with it; /openapi.json and /docs are written from it.
 */
import type { Clock } from "@bsky/shared/clock";
import { isOptCode } from "@bsky/shared/optout";
import type { Redis } from "@bsky/shared/redis";
import { isValidDid } from "@bsky/shared/syntax";
import type { z } from "zod";
import type { Avatars } from "./avatar.ts";
import type { AnswerCache } from "./cache.ts";
import type { FartConfig } from "./config.ts";
import { badParameter } from "./http.ts";
import type { Identity } from "./identity.ts";
import type { Ctx } from "./middleware/compose.ts";
import type { PngPool } from "./png_pool.ts";
import type { RateLimiter } from "./rate_limit.ts";
import type { RedisGate } from "./redis_gate.ts";

/** What the handlers work with, made once by the app. */
export interface Services {
  redis: Redis;
  identity: Identity;
  avatars: Avatars;
  cache: AnswerCache;
  config: FartConfig;
  /** Draws the PNGs, off the main thread. */
  png: PngPool;
  /** Limits how many opt codes an account and an address get. */
  limiter: RateLimiter;
  /** Where "now" comes from: windows end in its hour. */
  clock: Clock;
  gate: RedisGate;
  /** /openapi.json and /docs, made when first asked for. */
  documents: { openapi(): Uint8Array; docs(): Uint8Array };
}

/** A request at its route: path parameters decoded (and checked), query parsed. */
export interface RouteCtx<Q = unknown> extends Ctx {
  readonly params: Readonly<Record<string, string>>;
  readonly query: Q;
  readonly services: Services;
}

interface PathParam {
  description: string;
  /** The value the handler gets, or a 400. */
  check?: (decoded: string) => string;
}

/**
 * The path parameters a path template may have (`{actor}`): what they are, and how one is
 * checked, once the query has been, before the handler runs (the actor is checked where
 * it is looked up).
 */
export const PATH_PARAMS: Record<string, PathParam> = {
  actor: { description: "A handle or a DID, with or without @" },
  did: {
    description: "A DID",
    check: (did) => {
      if (!isValidDid(did)) throw badParameter("did", did, "is not a DID");
      return did;
    },
  },
  code: {
    description: "A code from POST /v1/optout/{actor}",
    check: (raw) => {
      const code = raw.toUpperCase();
      if (!isOptCode(code)) throw badParameter("code", raw, "is not an opt code");
      return code;
    },
  },
};

/** A JSON answer by the name of its schema under the document's components. */
export interface JsonAnswer {
  name: string;
  schema: z.ZodType;
}

export interface Route<S extends z.ZodObject = z.ZodObject> {
  /** The route as the metrics count it (the circles' three formats are one). */
  name: string;
  /** GET also answers HEAD. */
  method: "GET" | "POST";
  /** The path, with `{param}` for each path parameter (names from PATH_PARAMS). */
  path: string;
  operationId: string;
  summary: string;
  /** Its query parameters; none when absent (any one is then a 400). */
  query?: S;
  /** Its answer: JSON of a schema, or another media type. */
  answer: JsonAnswer | { type: string };
  /** Other answers with a body that are not errors, by status. */
  alsoAnswers?: Record<number, { description: string; answer: JsonAnswer }>;
  /** Error statuses besides 500, and besides 401, 429 and 503 on the routes behind keys. */
  errors: number[];
  /** Anyone may call it: no API key, no rate limit, whether Redis is there or not. */
  open?: boolean;
  /** Answers carry an ETag, and a matching If-None-Match gets a 304. */
  etag?: boolean;
  handler(ctx: RouteCtx<z.output<S>>): Promise<Response>;
}

/** A route with its handler's query typed by its schema. */
export function route<S extends z.ZodObject>(r: Route<S>): Route {
  return r as unknown as Route;
}

/** Errors of the routes that name an account. */
export const ACTOR_ERRORS = [400, 404, 410, 502];

/**
 * A GET route about one account (a path with `{actor}` or `{did}`): its errors are
 * ACTOR_ERRORS, and its answers carry an ETag.
 */
export function actorRoute<S extends z.ZodObject>(
  r: Omit<Route<S>, "method" | "errors" | "etag">,
): Route {
  return route<S>({ ...r, method: "GET", errors: ACTOR_ERRORS, etag: true });
}
