/**
 * /openapi.json and a docs page for people. Parameters come from the zod schemas the routes
 * validate with, so their types, defaults and bounds are what the API accepts; answers and
 * errors come from the zod schemas of what it sends.
 */
import { z } from "zod";
import type { KeyMode } from "./app.ts";
import { STATUS_NAMES } from "./http.ts";
import * as s from "./schemas.ts";

/** The named schemas under components; answers refer to them. */
const SCHEMAS = {
  Interactions: s.interactionsAnswer,
  Circles: s.circlesAnswer,
  TopList: s.topAnswer,
  Jobs: s.jobsAnswer,
  Live: s.liveAnswer,
  Search: s.searchAnswer,
  OptCode: s.optoutAnswer,
  Health: s.healthAnswer,
  Error: s.errorAnswer,
};

const PATH_PARAMS = {
  actor: "A handle or a DID, with or without @",
  did: "A DID",
  code: "A code from POST /v1/optout/{actor}",
};

type Op = {
  path: string;
  /** GET (which also answers HEAD) unless said. */
  method?: "post";
  operationId: string;
  summary: string;
  query?: z.ZodObject;
  pathParams?: (keyof typeof PATH_PARAMS)[];
  /** The JSON answer, by its schema's name. */
  answer?: keyof typeof SCHEMAS;
  /** The media type of an answer that is not JSON. */
  content?: string;
  /** Error statuses besides 500, and besides 401 and 429 on the routes behind keys. */
  errors: number[];
  /** Anyone may call it: no API key, no rate limit. */
  open?: boolean;
  /** Answers carry an ETag, and a matching If-None-Match gets a 304. */
  etag?: boolean;
};

const ACTOR_ERRORS = [400, 404, 410, 502];

const OPS: Op[] = [
  {
    path: "/v1/interactions/{actor}",
    operationId: "getInteractions",
    summary: "Whom an account interacts with most, ranked by score, with counts per type",
    query: s.interactionsQuery,
    pathParams: ["actor"],
    answer: "Interactions",
    errors: ACTOR_ERRORS,
    etag: true,
  },
  {
    path: "/v1/circles/{actor}",
    operationId: "getCircles",
    summary: "The circles layout: rings of people around the account",
    query: s.circlesQuery,
    pathParams: ["actor"],
    answer: "Circles",
    errors: ACTOR_ERRORS,
    etag: true,
  },
  {
    path: "/v1/circles/{actor}.svg",
    operationId: "getCirclesSvg",
    summary: "The circles image as SVG, avatars embedded",
    query: s.circlesQuery,
    pathParams: ["actor"],
    content: "image/svg+xml",
    errors: ACTOR_ERRORS,
    etag: true,
  },
  {
    path: "/v1/circles/{actor}.png",
    operationId: "getCirclesPng",
    summary: "The circles image as PNG (600 or 1200 px)",
    query: s.circlesQuery,
    pathParams: ["actor"],
    content: "image/png",
    errors: ACTOR_ERRORS,
    etag: true,
  },
  {
    path: "/v1/stats/top",
    operationId: "getTopList",
    summary: "The latest global top list of a metric",
    query: s.topQuery,
    answer: "TopList",
    errors: [400, 404],
    etag: true,
  },
  {
    path: "/v1/stats/jobs",
    operationId: "getJobs",
    summary: "The scheduler's jobs: when each last ran, how long it took, how it ended",
    answer: "Jobs",
    errors: [],
    etag: true,
  },
  {
    path: "/v1/stats/live",
    operationId: "getLive",
    summary: "What the firehose is doing now",
    answer: "Live",
    errors: [],
    etag: true,
  },
  {
    path: "/v1/actors/search",
    operationId: "searchActors",
    summary: "Handles starting with a prefix (typeahead)",
    query: s.searchQuery,
    answer: "Search",
    errors: [400],
    etag: true,
  },
  {
    path: "/v1/avatar/{did}",
    operationId: "getAvatar",
    summary: "An account's avatar through the proxy (JPEG, PNG or WebP)",
    pathParams: ["did"],
    content: "image/*",
    errors: ACTOR_ERRORS,
    etag: true,
  },
  {
    path: "/v1/optout/{actor}",
    method: "post",
    operationId: "requestOptCode",
    summary:
      "A one-time code that hides the account from every answer (action=out), or shows it again (in), once the account posts it; codes last an hour",
    query: s.optoutQuery,
    pathParams: ["actor"],
    answer: "OptCode",
    errors: [400, 404, 502],
  },
  {
    path: "/v1/optout/codes/{code}",
    operationId: "getOptCode",
    summary: "Whether an opt code was posted yet",
    pathParams: ["code"],
    answer: "OptCode",
    errors: [400, 404],
  },
  {
    path: "/healthz",
    operationId: "getHealth",
    summary: "Whether the API can answer (503 with the same answer when it cannot)",
    answer: "Health",
    errors: [],
    open: true,
  },
  {
    path: "/openapi.json",
    operationId: "getOpenApi",
    summary: "This description",
    content: "application/json",
    errors: [],
    open: true,
    etag: true,
  },
  {
    path: "/docs",
    operationId: "getDocs",
    summary: "A page listing the endpoints, for people",
    content: "text/html",
    errors: [],
    open: true,
    etag: true,
  },
  {
    path: "/",
    operationId: "getIndex",
    summary: "The same page as /docs",
    content: "text/html",
    errors: [],
    open: true,
    etag: true,
  },
];

/** A JSON Schema (2020-12, the dialect of OpenAPI 3.1) of a zod schema, without `$schema`. */
function json(schema: z.ZodType, io: "input" | "output"): Record<string, unknown> {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: "any" });
  return rest;
}

/** The number a query parameter of digits stands for: the end of its pipe, if a number. */
function numberOf(field: z.ZodType): z.ZodNumber | undefined {
  let t: z.ZodType = field;
  for (;;) {
    if (t instanceof z.ZodDefault || t instanceof z.ZodPrefault) t = t.def.innerType as z.ZodType;
    else if (t instanceof z.ZodPipe) t = t.def.out as z.ZodType;
    else return t instanceof z.ZodNumber ? t : undefined;
  }
}

/**
 * A query parameter as a client writes it: required when the schema takes its absence as an
 * error. A whole number is described by its value, bounds and default; anything else by
 * the text it accepts, with its default as it would be written.
 */
function queryParameter(name: string, field: z.ZodType): Record<string, unknown> {
  const absent = field.safeParse(undefined);
  const number = numberOf(field);
  const schema = number ? json(number, "output") : json(field, "input");
  if (number && absent.success) schema.default = absent.data;
  const { description, ...rest } = schema;
  return {
    name,
    in: "query",
    required: !absent.success,
    ...(description ? { description } : {}),
    schema: rest,
  };
}

const ref = (kind: string, name: string) => ({ $ref: `#/components/${kind}/${name}` });
const content = (type: string, schema?: Record<string, unknown>) => ({
  [type]: schema ? { schema } : {},
});

const RATE_HEADERS = {
  "RateLimit-Limit": ref("headers", "RateLimit-Limit"),
  "RateLimit-Remaining": ref("headers", "RateLimit-Remaining"),
  "RateLimit-Reset": ref("headers", "RateLimit-Reset"),
};

const ERRORS: Record<number, { description: string; headers?: Record<string, unknown> }> = {
  400: { description: "A parameter is wrong: `parameter` names it" },
  401: {
    description: "The API key is missing or not valid",
    headers: { "WWW-Authenticate": ref("headers", "WWW-Authenticate") },
  },
  404: { description: "Unknown account, code or avatar, or nothing computed yet" },
  410: { description: "The account is deactivated, taken down, deleted or opted out" },
  429: {
    description: "Rate limited: try again after Retry-After seconds",
    headers: { "Retry-After": ref("headers", "Retry-After"), ...RATE_HEADERS },
  },
  500: { description: "Something went wrong on the API's side (details only in its log)" },
  502: { description: "The identity network or the avatar's host answered badly or not at all" },
  503: {
    description: "The API's data store is away for a moment: try again after Retry-After seconds",
    headers: { "Retry-After": ref("headers", "Retry-After") },
  },
};

function components(keyMode: KeyMode): Record<string, unknown> {
  const header = (description: string, type = "string") => ({ description, schema: { type } });
  return {
    schemas: Object.fromEntries(
      Object.entries(SCHEMAS).map(([name, schema]) => [name, json(schema, "output")]),
    ),
    responses: Object.fromEntries(
      Object.entries(ERRORS).map(([status, { description, headers }]) => [
        STATUS_NAMES[Number(status)],
        {
          description,
          ...(headers ? { headers } : {}),
          content: content("application/json", ref("schemas", "Error")),
        },
      ]),
    ),
    headers: {
      "ETag": header("The answer's tag for If-None-Match; weak when the body is compressed"),
      "Cache-Control": header(
        "How long the answer may be kept; private when API keys are required",
      ),
      "Location": header("Where the code's state is: /v1/optout/codes/{code}"),
      "WWW-Authenticate": header("Bearer"),
      "Retry-After": header("Seconds to wait", "integer"),
      "RateLimit-Limit": header("Requests a minute allowed to this caller", "integer"),
      "RateLimit-Remaining": header("Requests left now", "integer"),
      "RateLimit-Reset": header("Seconds until the allowance is full again", "integer"),
    },
    ...(keyMode === "none"
      ? {}
      : { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } }),
  };
}

function operation(op: Op): Record<string, unknown> {
  const parameters = [
    ...(op.pathParams ?? []).map((name) => ({
      name,
      in: "path",
      required: true,
      description: PATH_PARAMS[name],
      schema: { type: "string" },
    })),
    ...Object.entries(op.query?.shape ?? {}).map(([name, field]) =>
      queryParameter(name, field as z.ZodType)
    ),
  ];
  const success: Record<string, unknown> = {
    description: op.method === "post" ? "Created" : "OK",
    content: content(
      op.content ?? "application/json",
      op.answer ? ref("schemas", op.answer) : undefined,
    ),
  };
  const headers: Record<string, unknown> = op.open ? {} : { ...RATE_HEADERS };
  if (op.etag) {
    headers["ETag"] = ref("headers", "ETag");
    headers["Cache-Control"] = ref("headers", "Cache-Control");
  }
  if (op.method === "post") headers["Location"] = ref("headers", "Location");
  if (Object.keys(headers).length) success.headers = headers;
  const responses: Record<string, unknown> = { [op.method === "post" ? "201" : "200"]: success };
  if (op.etag) {
    responses["304"] = {
      description: "Not modified: the If-None-Match tag is the answer's",
      headers: { "ETag": ref("headers", "ETag") },
    };
  }
  if (op.operationId === "getHealth") {
    responses["503"] = {
      description: "Not ready: Redis does not answer",
      content: content("application/json", ref("schemas", "Health")),
    };
  }
  const statuses = [...op.errors, 500, ...(op.open ? [] : [401, 429, 503])].sort((a, b) => a - b);
  for (const status of statuses) {
    responses[String(status)] = ref("responses", STATUS_NAMES[status]);
  }
  return {
    operationId: op.operationId,
    summary: op.summary,
    ...(op.open ? { security: [] } : {}),
    ...(parameters.length ? { parameters } : {}),
    responses,
  };
}

const KEYS_SAID: Record<KeyMode, string> = {
  none: "No API key is needed; callers are rate limited by IP address.",
  optional:
    "An API key is optional (Authorization: Bearer <key>): its holder gets a rate limit of its own; callers without one are limited by IP address.",
  required: "Every /v1 request needs an API key: Authorization: Bearer <key>.",
};

/** The OpenAPI 3.1 document of the API as configured (`keyMode` decides its security). */
export function openApiDocument(keyMode: KeyMode = "none"): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of OPS) {
    (paths[op.path] ??= {})[op.method ?? "get"] = operation(op);
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "FART: Feline Area Rapid Transit",
      version: "1.0.0",
      description: `Bluesky interaction circles and network statistics, from the whole firehose. ${
        KEYS_SAID[keyMode]
      } Answers are compressed (br or gzip) when the client accepts it.`,
    },
    ...(keyMode === "none"
      ? {}
      : { security: keyMode === "required" ? [{ bearer: [] }] : [{ bearer: [] }, {}] }),
    paths,
    components: components(keyMode),
  };
}

const escape = (t: string) =>
  t.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** A plain page listing the endpoints and their parameters. */
export function docsPage(): string {
  const rows = OPS.map((op) => {
    const params = op.query
      ? Object.keys(op.query.shape).map((p) => `<code>${escape(p)}</code>`).join(", ")
      : "";
    return `<tr><td><code>${op.method === "post" ? "POST" : "GET"} ${
      escape(op.path)
    }</code></td><td>${escape(op.summary)}</td><td>${params}</td></tr>`;
  }).join("\n");
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>FART API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}
td{padding:.3rem .6rem;border-bottom:1px solid #ddd;vertical-align:top}code{font-size:.9em}</style></head>
<body><h1>FART: Feline Area Rapid Transit</h1>
<p>The HTTP API of Bluesky interaction circles. Machine-readable description:
<a href="/openapi.json">/openapi.json</a>. When API keys are configured, send
<code>Authorization: Bearer &lt;key&gt;</code>. Errors are JSON: <code>{ error, message }</code>.</p>
<table><thead><tr><th>Endpoint</th><th>What</th><th>Parameters</th></tr></thead><tbody>
${rows}
</tbody></table></body></html>`;
}
