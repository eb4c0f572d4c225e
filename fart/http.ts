/** HTTP plumbing of the API: errors as responses, query parsing, ETags, compression. */
import { promisify } from "node:util";
import { brotliCompress, constants } from "node:zlib";
import type { z } from "zod";
import { BoundedMap, stringBytes } from "@bsky/shared/bounded_map";

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

/**
 * The parameters of a path, percent-decoded: the only place a path part is decoded, so
 * that nothing is decoded twice. Malformed percent-encoding is a 400 naming the path.
 */
export function decodePathParts(pathname: string, parts: readonly string[]): string[] {
  try {
    return parts.map((part) => decodeURIComponent(part));
  } catch {
    throw new HttpError(400, `Cannot read the path: "${pathname}" is not valid percent-encoding`);
  }
}

/**
 * Parsed queries by schema and query string: the same few queries come again and again.
 * Bounded in entries and bytes (the query strings included), however many distinct
 * queries clients send.
 */
const parsed = new WeakMap<z.ZodType, BoundedMap<string, unknown>>();
export const PARSED_PER_SCHEMA = { maxEntries: 1000, maxBytes: 512 * 1024 };

/** Parses query parameters with a zod schema; a failure is a 400 naming the parameter. */
export function parseQuery<S extends z.ZodType>(url: URL, schema: S): z.output<S> {
  let known = parsed.get(schema);
  if (!known) {
    known = new BoundedMap({
      ...PARSED_PER_SCHEMA,
      // The parsed value is a handful of short fields.
      sizeOf: (search) => stringBytes(search) + 256,
    });
    parsed.set(schema, known);
  }
  const hit = known.get(url.search);
  if (hit !== undefined) return hit as z.output<S>;
  // Frozen: every caller of the same query shares it.
  const value = Object.freeze(parseFresh(url, schema));
  known.set(url.search, value);
  return value as z.output<S>;
}

/** The parsed queries kept for a schema: entries and bytes. */
export function parsedQueries(schema: z.ZodType): { entries: number; bytes: number } {
  const known = parsed.get(schema);
  return { entries: known?.size ?? 0, bytes: known?.bytes ?? 0 };
}

/**
 * A parsed query in one canonical form (its fields sorted, values as text), for cache keys:
 * every spelling of the same query (order, case, percent-encoding) gives the same key.
 */
export function canonicalQuery(query: Record<string, unknown>): string {
  return Object.keys(query).sort().map((k) => `${k}=${String(query[k])}`).join("&");
}

function parseFresh<S extends z.ZodType>(url: URL, schema: S): z.output<S> {
  // No prototype: "__proto__" or "constructor" is a parameter name like any other (and unknown).
  const raw: Record<string, string> = Object.create(null);
  for (const [k, v] of url.searchParams) {
    // Which of two values would count is a guess: neither.
    if (Object.hasOwn(raw, k)) throw badParameter(k, v, "is given more than once");
    raw[k] = v;
  }
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (issue.code === "unrecognized_keys") {
    throw badParameter(issue.keys[0], raw[issue.keys[0]], "is not a parameter of this endpoint");
  }
  const name = String(issue.path[0] ?? "query");
  throw badParameter(name, raw[name], issue.message.replace(/^Invalid input: /, ""));
}

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
  414: "URITooLong",
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
 * `maxAge` is how long a client or CDN may keep it. Text the client takes compressed
 * (Accept-Encoding) goes compressed, with a weak ETag: see `contentCoding()`.
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
  headers.set("cache-control", `public, max-age=${maxAge}`);
  const compressible = body.byteLength >= MIN_COMPRESSED_BYTES && COMPRESSIBLE.test(contentType);
  const coding = compressible ? contentCoding(req.headers.get("accept-encoding")) : undefined;
  if (compressible) headers.append("vary", "Accept-Encoding");
  // The strong tag names the exact bytes of the identity body. A compressed body is other
  // bytes with the same meaning: a weak tag, which a client's copy in any coding matches.
  headers.set("etag", coding ? `W/${etag}` : etag);
  if (etagMatches(req.headers.get("if-none-match"), etag)) {
    return new Response(null, { status: 304, headers });
  }
  headers.set("content-type", contentType);
  if (coding) headers.set("content-encoding", coding);
  if (req.method === "HEAD") return new Response(null, { status: 200, headers });
  const sent = coding ? await compressed(body, coding) : body;
  return new Response(sent as Uint8Array<ArrayBuffer>, { status: 200, headers });
}

/**
 * Lets only the client's own cache keep an answer (Cache-Control: private), for answers
 * given to key holders: a shared cache would hand them to anyone.
 */
export function keepPrivate(headers: Headers): void {
  const value = headers.get("cache-control");
  if (value?.startsWith("public")) headers.set("cache-control", `private${value.slice(6)}`);
}

/** Bodies smaller than this go as they are: compressing would save next to nothing. */
export const MIN_COMPRESSED_BYTES = 1024;
/** Types worth compressing; images other than SVG are compressed already. */
const COMPRESSIBLE = /^(?:text\/|application\/(?:json|javascript|xml)|image\/svg\+xml)/;

export type ContentCoding = "br" | "gzip";

/**
 * The coding to send for an Accept-Encoding header: the one the client rates higher (q),
 * br when it rates both alike, none when it takes neither.
 */
export function contentCoding(acceptEncoding: string | null): ContentCoding | undefined {
  if (!acceptEncoding) return undefined;
  const rated = new Map<string, number>();
  for (const item of acceptEncoding.toLowerCase().split(",")) {
    const [name, ...params] = item.split(";").map((p) => p.trim());
    const q = params.find((p) => p.startsWith("q="));
    rated.set(name, q ? Number(q.slice(2)) || 0 : 1);
  }
  const q = (name: string) => rated.get(name) ?? rated.get("*") ?? 0;
  const br = q("br"), gzip = Math.max(q("gzip"), rated.get("x-gzip") ?? 0);
  if (br > 0 && br >= gzip) return "br";
  return gzip > 0 ? "gzip" : undefined;
}

/** Compressed forms of bodies, by body: a cached answer is the same object on every hit. */
const codings = new WeakMap<Uint8Array, Map<ContentCoding, Promise<Uint8Array>>>();
const brotli = promisify(brotliCompress);

/** The body compressed with the coding, compressed only once for a body seen before. */
export function compressed(body: Uint8Array, coding: ContentCoding): Promise<Uint8Array> {
  let known = codings.get(body);
  if (!known) codings.set(body, known = new Map());
  let done = known.get(coding);
  if (!done) {
    done = compress(body, coding);
    known.set(coding, done);
    done.catch(() => known.delete(coding));
  }
  return done;
}

async function compress(body: Uint8Array, coding: ContentCoding): Promise<Uint8Array> {
  if (coding === "br") {
    // Quality 5: about gzip's speed, and smaller.
    const out = await brotli(body, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: 5,
        [constants.BROTLI_PARAM_SIZE_HINT]: body.byteLength,
      },
    });
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  }
  const stream = new Blob([body as Uint8Array<ArrayBuffer>]).stream()
    .pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
