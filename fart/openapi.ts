/** /openapi.json, built from the zod schemas, and a docs page that lists it for people. */
import { z } from "zod";
import * as s from "./schemas.ts";

type Op = {
  path: string;
  /** GET unless said. */
  method?: "post";
  summary: string;
  query?: z.ZodObject;
  pathParams?: string[];
  answer?: z.ZodType;
  content?: string;
};

const OPS: Op[] = [
  {
    path: "/v1/interactions/{actor}",
    summary: "Whom an account interacts with most, ranked by score, with counts per type",
    query: s.interactionsQuery,
    pathParams: ["actor"],
    answer: s.interactionsAnswer,
  },
  {
    path: "/v1/circles/{actor}",
    summary: "The circles layout: rings of people around the account",
    query: s.circlesQuery,
    pathParams: ["actor"],
    answer: s.circlesAnswer,
  },
  {
    path: "/v1/circles/{actor}.svg",
    summary: "The circles image as SVG, avatars embedded",
    query: s.circlesQuery,
    pathParams: ["actor"],
    content: "image/svg+xml",
  },
  {
    path: "/v1/circles/{actor}.png",
    summary: "The circles image as PNG (600 or 1200 px)",
    query: s.circlesQuery,
    pathParams: ["actor"],
    content: "image/png",
  },
  {
    path: "/v1/stats/top",
    summary: "The latest global top list of a metric",
    query: s.topQuery,
    answer: s.topAnswer,
  },
  {
    path: "/v1/stats/jobs",
    summary: "The scheduler's jobs: when each last ran, how long it took, how it ended",
    answer: s.jobsAnswer,
  },
  {
    path: "/v1/stats/live",
    summary: "What the firehose is doing now",
    answer: s.liveAnswer,
  },
  {
    path: "/v1/actors/search",
    summary: "Handles starting with a prefix (typeahead)",
    query: s.searchQuery,
    answer: s.searchAnswer,
  },
  {
    path: "/v1/avatar/{did}",
    summary: "An account's avatar through the proxy (JPEG, PNG or WebP)",
    pathParams: ["did"],
    content: "image/*",
  },
  {
    path: "/v1/optout/{actor}",
    method: "post",
    summary:
      "A one-time code that hides the account from every answer (action=out), or shows it again (in), once the account posts it; codes last an hour",
    query: s.optoutQuery,
    pathParams: ["actor"],
    answer: s.optoutAnswer,
  },
  {
    path: "/v1/optout/codes/{code}",
    summary: "Whether an opt code was posted yet",
    pathParams: ["code"],
    answer: s.optoutAnswer,
  },
];

const json = (schema: z.ZodType) => z.toJSONSchema(schema, { io: "input", unrepresentable: "any" });

export function openApiDocument(): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  for (const op of OPS) {
    const parameters: unknown[] = (op.pathParams ?? []).map((name) => ({
      name,
      in: "path",
      required: true,
      schema: { type: "string" },
      description: name === "actor"
        ? "A handle or a DID, with or without @"
        : name === "code"
        ? "A code from POST /v1/optout/{actor}"
        : "A DID",
    }));
    if (op.query) {
      const props = (json(op.query) as { properties: Record<string, unknown>; required?: string[] })
        .properties;
      for (const [name, schema] of Object.entries(props)) {
        const required = !(op.query.shape[name] instanceof z.ZodDefault);
        parameters.push({ name, in: "query", required, schema });
      }
    }
    paths[op.path] = {
      [op.method ?? "get"]: {
        summary: op.summary,
        parameters,
        responses: {
          [op.method === "post" ? "201" : "200"]: {
            description: "OK",
            content: {
              [op.content ?? "application/json"]: { schema: op.answer ? json(op.answer) : {} },
            },
          },
          "304": { description: "Not modified (If-None-Match)" },
          "400": {
            description: "A parameter is wrong",
            content: { "application/json": { schema: json(s.errorAnswer) } },
          },
          "401": { description: "API key missing or not valid" },
          "404": { description: "Unknown account or nothing computed yet" },
          "410": { description: "The account is deactivated, taken down, deleted or opted out" },
          "429": { description: "Rate limited: see Retry-After" },
        },
      },
    };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "FART: Feline Area Rapid Transit",
      version: "1.0.0",
      description: "Bluesky interaction circles and network statistics, from the whole firehose.",
    },
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
    },
    security: [{ bearer: [] }, {}],
    paths,
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
