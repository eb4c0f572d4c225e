/**
 * /openapi.json and a docs page for people, written from the route table (routes.ts).
 * Parameters come from the zod schemas the router validates with, so their types, defaults
 * and bounds are what the API accepts; answers and errors come from the zod schemas of what
 * it sends.
 */
import { z } from "zod";
import { STATUS_NAMES } from "./http.ts";
import type { KeyMode } from "./middleware/api_key.ts";
import { type JsonAnswer, PATH_PARAMS, type Route } from "./route.ts";
import { API_ROUTES } from "./routes.ts";
import * as s from "./schemas.ts";

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

function components(keyMode: KeyMode, table: readonly Route[]): Record<string, unknown> {
  const header = (description: string, type = "string") => ({ description, schema: { type } });
  return {
    schemas: Object.fromEntries(
      Object.entries(schemas(table)).map(([name, schema]) => [name, json(schema, "output")]),
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

/** The named answer schemas under components, in the table's order, then Error. */
function schemas(table: readonly Route[]): Record<string, z.ZodType> {
  const named: Record<string, z.ZodType> = {};
  const add = ({ name, schema }: JsonAnswer) => {
    if (named[name] && named[name] !== schema) throw new Error(`Two schemas are named ${name}`);
    named[name] = schema;
  };
  for (const r of table) {
    if ("schema" in r.answer) add(r.answer);
    for (const other of Object.values(r.alsoAnswers ?? {})) add(other.answer);
  }
  return { ...named, Error: s.errorAnswer };
}

/** The path parameters of a template, in order. */
const pathParams = (path: string) => [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);

function parameters(r: Route): Record<string, unknown>[] {
  return [
    ...pathParams(r.path).map((name) => ({
      name,
      in: "path",
      required: true,
      description: PATH_PARAMS[name].description,
      schema: { type: "string" },
    })),
    ...Object.entries(r.query?.shape ?? {}).map(([name, field]) =>
      queryParameter(name, field as z.ZodType)
    ),
  ];
}

/** The answer a route gives when it succeeds: 201 for a POST, else 200. */
function success(r: Route): Record<string, unknown> {
  const post = r.method === "POST";
  const answer: Record<string, unknown> = {
    description: post ? "Created" : "OK",
    content: "schema" in r.answer
      ? content("application/json", ref("schemas", r.answer.name))
      : content(r.answer.type),
  };
  const headers: Record<string, unknown> = r.open ? {} : { ...RATE_HEADERS };
  if (r.etag) {
    headers["ETag"] = ref("headers", "ETag");
    headers["Cache-Control"] = ref("headers", "Cache-Control");
  }
  if (post) headers["Location"] = ref("headers", "Location");
  if (Object.keys(headers).length) answer.headers = headers;
  return answer;
}

function operation(r: Route): Record<string, unknown> {
  const params = parameters(r);
  const responses: Record<string, unknown> = { [r.method === "POST" ? "201" : "200"]: success(r) };
  if (r.etag) {
    responses["304"] = {
      description: "Not modified: the If-None-Match tag is the answer's",
      headers: { "ETag": ref("headers", "ETag") },
    };
  }
  for (const [status, { description, answer }] of Object.entries(r.alsoAnswers ?? {})) {
    responses[status] = {
      description,
      content: content("application/json", ref("schemas", answer.name)),
    };
  }
  const statuses = [...r.errors, 500, ...(r.open ? [] : [401, 429, 503])].sort((a, b) => a - b);
  for (const status of statuses) {
    responses[String(status)] = ref("responses", STATUS_NAMES[status]);
  }
  return {
    operationId: r.operationId,
    summary: r.summary,
    ...(r.open ? { security: [] } : {}),
    ...(params.length ? { parameters: params } : {}),
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
export function openApiDocument(
  keyMode: KeyMode = "none",
  table: readonly Route[] = API_ROUTES,
): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of table) {
    (paths[r.path] ??= {})[r.method.toLowerCase()] = operation(r);
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
    components: components(keyMode, table),
  };
}

const escape = (t: string) =>
  t.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** A plain page listing the endpoints and their parameters. */
export function docsPage(table: readonly Route[] = API_ROUTES): string {
  const rows = table.map((r) => {
    const params = r.query
      ? Object.keys(r.query.shape).map((p) => `<code>${escape(p)}</code>`).join(", ")
      : "";
    return `<tr><td><code>${r.method} ${escape(r.path)}</code></td><td>${
      escape(r.summary)
    }</td><td>${params}</td></tr>`;
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
