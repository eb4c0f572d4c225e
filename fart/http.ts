/** HTTP plumbing of the API: errors as responses, CORS, ETags. */
import type { z } from "zod";

/** An answer other than 200 for the client: status and a message for people. */
export class HttpError extends Error {
  override name = "HttpError";
  constructor(
    readonly status: number,
    message: string,
    readonly details?: Record<string, unknown>,
    readonly headers?: HeadersInit,
  ) {
    super(message);
  }
}

/** A 400 naming the parameter and what is wrong with it. */
export function badParameter(name: string, value: unknown, why: string): HttpError {
  return new HttpError(400, `Invalid parameter "${name}": ${JSON.stringify(value)} ${why}`, {
    parameter: name,
  });
}

/** Parses query parameters with a zod schema; a failure is a 400 naming the parameter. */
/** Parsed queries by schema and query string: the same few queries come again and again. */
const parsed = new WeakMap<z.ZodType, Map<string, unknown>>();
const PARSED_PER_SCHEMA = 1000;

export function parseQuery<S extends z.ZodType>(url: URL, schema: S): z.output<S> {
  let known = parsed.get(schema);
  if (!known) parsed.set(schema, known = new Map());
  const hit = known.get(url.search);
  if (hit !== undefined) return hit as z.output<S>;
  // Frozen: every caller of the same query shares it.
  const value = Object.freeze(parseFresh(url, schema));
  if (known.size >= PARSED_PER_SCHEMA) known.delete(known.keys().next().value!);
  known.set(url.search, value);
  return value as z.output<S>;
}

function parseFresh<S extends z.ZodType>(url: URL, schema: S): z.output<S> {
  const raw: Record<string, string> = {};
  for (const [k, v] of url.searchParams) raw[k] = v;
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (issue.code === "unrecognized_keys") {
    throw badParameter(issue.keys[0], raw[issue.keys[0]], "is not a parameter of this endpoint");
  }
  const name = String(issue.path[0] ?? "query");
  throw badParameter(name, raw[name], issue.message.replace(/^Invalid input: /, ""));
}

export const CORS_HEADERS = {
  "access-control-allow-origin": "*",
  "access-control-allow-methods": "GET, HEAD, POST, OPTIONS",
  "access-control-allow-headers": "authorization, if-none-match, content-type",
  "access-control-expose-headers":
    "etag, location, ratelimit-limit, ratelimit-remaining, ratelimit-reset, retry-after",
  "access-control-max-age": "86400",
};

/** The JSON error body every failure has: `{ error, message, ...details }`. */
export function errorResponse(err: unknown): Response {
  if (err instanceof HttpError) {
    const headers = new Headers(err.headers);
    headers.set("cache-control", "no-store");
    return Response.json(
      { error: STATUS_NAMES[err.status] ?? "Error", message: err.message, ...err.details },
      { status: err.status, headers },
    );
  }
  // Nothing internal leaks: the log has the details.
  return Response.json(
    { error: STATUS_NAMES[500], message: "Something went wrong on our side" },
    { status: 500, headers: { "cache-control": "no-store" } },
  );
}

/** The `error` field of each status's answer. */
export const STATUS_NAMES: Record<number, string> = {
  400: "BadRequest",
  401: "Unauthorized",
  404: "NotFound",
  405: "MethodNotAllowed",
  410: "Gone",
  429: "TooManyRequests",
  500: "InternalServerError",
  502: "BadGateway",
  503: "ServiceUnavailable",
};

/** A strong ETag of a body: the first 16 bytes of its SHA-256, base64url. */
/** ETags of bodies already hashed (cached answers are the same objects each time). */
const etags = new WeakMap<Uint8Array, string>();

export async function etagOf(body: Uint8Array): Promise<string> {
  const known = etags.get(body);
  if (known) return known;
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", body as Uint8Array<ArrayBuffer>),
  );
  let s = "";
  for (const b of digest.subarray(0, 16)) s += String.fromCharCode(b);
  const etag = `"${btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")}"`;
  etags.set(body, etag);
  return etag;
}

/** Whether an If-None-Match header matches the ETag. */
export function etagMatches(header: string | null, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === "*") return true;
  return header.split(",").some((t) => t.trim().replace(/^W\//, "") === etag);
}

/**
 * A 200 with the body, its ETag and cache headers, or a 304 when the client has it.
 * `maxAge` is how long a client or CDN may keep it.
 */
export async function withEtag(
  req: Request,
  body: Uint8Array,
  contentType: string,
  maxAge: number,
  extra?: HeadersInit,
): Promise<Response> {
  const etag = await etagOf(body);
  const headers = new Headers(extra);
  headers.set("etag", etag);
  headers.set("cache-control", `public, max-age=${maxAge}`);
  if (etagMatches(req.headers.get("if-none-match"), etag)) {
    return new Response(null, { status: 304, headers });
  }
  headers.set("content-type", contentType);
  return new Response(req.method === "HEAD" ? null : body as Uint8Array<ArrayBuffer>, {
    status: 200,
    headers,
  });
}

/**
 * Lets only the client's own cache keep an answer (Cache-Control: private), for answers
 * given to key holders: a shared cache would hand them to anyone.
 */
export function keepPrivate(headers: Headers): void {
  const value = headers.get("cache-control");
  if (value?.startsWith("public")) headers.set("cache-control", `private${value.slice(6)}`);
}
