/**
 * The site's client of the API: JSON answers kept in memory for a short while (concurrent
 * asks for the same one share a single request), images passed through and kept in memory
 * for as long as the API says they may be cached (every visitor of a circle shows the same
 * avatars: without this, each page view would ask the API for up to 49 of them), and every
 * failure turned into an ApiError that the router shows as a page. What is kept is bounded
 * in entries and in bytes, paths included. Each call is charged to the visitor it is made
 * for (forVisitor()), and an account the API does not know is remembered for a while.
 */
import { z } from "zod";
import type * as schemas from "@bsky/fart/schemas";
import { BoundedMap, stringBytes } from "@bsky/shared/bounded_map";
import type { VisitorLimiter } from "./visitor_limit.ts";

export type ApiErrorKind = "not_found" | "gone" | "bad_request" | "busy" | "down" | "limited";

/** What went wrong when asking the API, as the page will tell it. */
export class ApiError extends Error {
  override name = "ApiError";
  /** When to ask again, in seconds (the API's Retry-After), for an answer of 503 or 429. */
  readonly retryAfter?: string;
  constructor(
    readonly kind: ApiErrorKind,
    /** The status the site answers with. */
    readonly status: number,
    message: string,
    options?: ErrorOptions & { retryAfter?: string },
  ) {
    super(message, options);
    this.retryAfter = options?.retryAfter;
  }
}

export interface ApiClientOptions {
  baseUrl: string;
  key?: string;
  cacheSeconds: number;
  fetch?: typeof fetch;
  /** Most answers kept at once (2,000 unless said). */
  maxEntries?: number;
  /** Most bytes of answers kept at once, their paths included (16 MB unless said). */
  maxAnswerBytes?: number;
  /** Most bytes of images kept at once, their paths and headers included (32 MB unless said). */
  maxImageBytes?: number;
  /** Limits the API calls each visitor causes; none unless given. */
  limiter?: VisitorLimiter;
  /** How long an account the API does not know is remembered as unknown (60 s unless said). */
  unknownSeconds?: number;
}

/** Who a call is made for, and what it asks about. */
export interface CallOptions {
  /** The visitor whose allowance the call takes (calls answered from memory take none). */
  visitor?: string;
  /**
   * The account the call is about: once the API answers 404 for it, calls about it are
   * answered 404 from memory for a while, so an unknown handle costs no API call twice.
   */
  account?: string;
}

/** What routes use: the client's calls, each charged to the request's visitor. */
export type Api = Pick<ApiClient, "json" | "post" | "image">;

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
  const parsed = metaAnswer.safeParse(answer);
  return parsed.success ? parsed.data : undefined;
}

/** An image as the API gave it, until its max-age is over. */
interface Image {
  expires: number;
  body: Uint8Array<ArrayBuffer>;
  headers: [string, string][];
  etag: string | null;
}

/** Headers of an image that reach the browser. */
const IMAGE_HEADERS = ["content-type", "etag", "cache-control", "content-length"];
/** An image larger than this is passed through, never kept. */
const MAX_KEPT_IMAGE = 1 << 20;

/** Most images kept at once. */
const MAX_IMAGES = 4096;
/** Most accounts remembered as unknown at once. */
const MAX_UNKNOWN = 10_000;

interface Entry {
  expires: number;
  value: unknown;
  /** The bytes of the answer's text, as a bound of what its value holds. */
  bytes: number;
}

export class ApiClient {
  readonly #fetch: typeof fetch;
  /** Answers by path, least recently used first, bounded in entries and bytes. */
  readonly #cache: BoundedMap<string, Entry>;
  readonly #inflight = new Map<string, Promise<unknown>>();
  /** Images by path, least recently used first, bounded in entries and bytes. */
  readonly #images: BoundedMap<string, Image>;
  /** Accounts the API answered 404 for, with when that stops being believed. */
  readonly #unknown = new BoundedMap<string, number>({
    maxEntries: MAX_UNKNOWN,
    maxBytes: MAX_UNKNOWN * 600,
    sizeOf: (account) => stringBytes(account) + 48,
  });

  constructor(readonly options: ApiClientOptions) {
    this.#fetch = options.fetch ?? fetch;
    this.#cache = new BoundedMap({
      maxEntries: options.maxEntries ?? 2000,
      maxBytes: options.maxAnswerBytes ?? 16 << 20,
      sizeOf: (path, entry) => stringBytes(path) + entry.bytes + 64,
    });
    this.#images = new BoundedMap({
      maxEntries: MAX_IMAGES,
      maxBytes: options.maxImageBytes ?? 32 << 20,
      sizeOf: (path, image) =>
        stringBytes(path) + image.body.byteLength +
        image.headers.reduce((n, [k, v]) => n + stringBytes(k) + stringBytes(v), 64),
    });
  }

  #headers(extra?: HeadersInit): Headers {
    const headers = new Headers(extra);
    if (this.options.key) headers.set("authorization", `Bearer ${this.options.key}`);
    return headers;
  }

  /** The calls of one visitor: each takes from that visitor's allowance. */
  forVisitor(visitor: string): Api {
    return {
      json: (path, options) => this.json(path, { ...options, visitor }),
      post: (path, options) => this.post(path, { ...options, visitor }),
      image: (path, req, options) => this.image(path, req, { ...options, visitor }),
    };
  }

  /** A call to the API, unless the account is known to be unknown or the visitor is over. */
  async #request(path: string, init: RequestInit, call: CallOptions): Promise<Response> {
    const until = call.account === undefined ? undefined : this.#unknown.get(call.account);
    if (until !== undefined) {
      if (until > Date.now()) throw errorOf(404, path);
      this.#unknown.delete(call.account!);
    }
    const decision = call.visitor === undefined
      ? undefined
      : this.options.limiter?.take(call.visitor);
    if (decision && !decision.allowed) {
      throw new ApiError("limited", 429, `Too many calls for ${call.visitor}`, {
        retryAfter: String(decision.retryAfterSeconds),
      });
    }
    let res: Response;
    try {
      res = await this.#fetch(`${this.options.baseUrl}${path}`, init);
    } catch (err) {
      throw new ApiError("down", 503, `The API cannot be reached: ${String(err)}`, { cause: err });
    }
    if (res.status === 404 && call.account !== undefined) {
      this.#unknown.set(call.account, Date.now() + (this.options.unknownSeconds ?? 60) * 1000);
    }
    return res;
  }

  /** A JSON answer; 404, 410, 400, 429 and 5xx become ApiErrors. `fresh`: never from memory. */
  json<T>(
    path: string,
    { fresh = false, ...call }: CallOptions & { fresh?: boolean } = {},
  ): Promise<T> {
    if (fresh) return this.#send<T>(path, "GET", call);
    const now = Date.now();
    const hit = this.#cache.get(path);
    if (hit && hit.expires > now) return Promise.resolve(hit.value as T);
    const pending = this.#inflight.get(path);
    if (pending) return pending as Promise<T>;
    const work = (async () => {
      const { value, bytes } = await this.#exchange(path, "GET", call);
      if (this.options.cacheSeconds > 0) {
        const expires = Date.now() + this.options.cacheSeconds * 1000;
        this.#cache.set(path, { expires, value, bytes });
      }
      return value;
    })().finally(() => this.#inflight.delete(path));
    this.#inflight.set(path, work);
    return work as Promise<T>;
  }

  /** A POST (the API's one write: asking for an opt code); errors as for json(). */
  post<T>(path: string, call: CallOptions = {}): Promise<T> {
    return this.#send<T>(path, "POST", call);
  }

  async #send<T>(path: string, method: string, call: CallOptions): Promise<T> {
    return (await this.#exchange(path, method, call)).value as T;
  }

  /** A JSON answer with the bytes its text took (two a character, as held in memory). */
  async #exchange(
    path: string,
    method: string,
    call: CallOptions,
  ): Promise<{ value: unknown; bytes: number }> {
    const res = await this.#request(path, { method, headers: this.#headers() }, call);
    if (!res.ok) {
      await res.body?.cancel();
      throw errorOf(res.status, path, res.headers);
    }
    const text = await res.text();
    return { value: JSON.parse(text), bytes: stringBytes(text) };
  }

  /**
   * An image passed through to the browser with its type, ETag and cache headers (a
   * conditional request is answered or forwarded, so a 304 stays a 304). Images the API
   * lets be cached are served from memory until their max-age is over.
   */
  async image(path: string, req: Request, call: CallOptions = {}): Promise<Response> {
    const ifNoneMatch = req.headers.get("if-none-match");
    // Most recently used last, so the least used goes first when room is needed.
    const kept = this.#images.get(path);
    if (kept && kept.expires > Date.now()) return imageResponse(kept, ifNoneMatch);
    if (kept) this.#images.delete(path);
    const res = await this.#request(path, {
      headers: this.#headers(ifNoneMatch ? { "if-none-match": ifNoneMatch } : undefined),
    }, call);
    if (res.status !== 200 && res.status !== 304) {
      await res.body?.cancel();
      throw errorOf(res.status, path, res.headers);
    }
    // fetch() hands over the body decoded but keeps the encoded Content-Length: passed on,
    // it would cut the image short.
    const encoded = res.headers.has("content-encoding");
    const headers: [string, string][] = IMAGE_HEADERS.flatMap((name) => {
      const value = res.headers.get(name);
      if (name === "content-length" && encoded) return [];
      return value ? [[name, value] as [string, string]] : [];
    });
    const maxAge = Number(res.headers.get("cache-control")?.match(/max-age=(\d+)/)?.[1] ?? 0);
    const size = encoded ? NaN : Number(res.headers.get("content-length") ?? NaN);
    if (res.status === 200 && maxAge > 0 && !(size > MAX_KEPT_IMAGE)) {
      const body = new Uint8Array(await res.arrayBuffer());
      const image = {
        expires: Date.now() + maxAge * 1000,
        body,
        headers,
        etag: res.headers.get("etag"),
      };
      if (body.length <= MAX_KEPT_IMAGE) this.#images.set(path, image);
      return imageResponse(image, null);
    }
    const out = new Headers(headers);
    out.set("x-content-type-options", "nosniff");
    return new Response(res.status === 304 ? null : res.body, { status: res.status, headers: out });
  }

  /** How many images are kept, and the bytes they are counted for (paths and headers too). */
  get imagesKept(): { count: number; bytes: number } {
    return { count: this.#images.size, bytes: this.#images.bytes };
  }

  /** How many answers are kept, and the bytes they are counted for (paths too). */
  get answersKept(): { count: number; bytes: number } {
    return { count: this.#cache.size, bytes: this.#cache.bytes };
  }
}

/** A kept image for one request: a 304 when the browser has it already. */
function imageResponse(image: Image, ifNoneMatch: string | null): Response {
  const headers = new Headers(image.headers);
  headers.set("x-content-type-options", "nosniff");
  if (image.etag && ifNoneMatch && etagListHas(ifNoneMatch, image.etag)) {
    headers.delete("content-length");
    headers.delete("content-type");
    return new Response(null, { status: 304, headers });
  }
  return new Response(image.body, { status: 200, headers });
}

/** Whether an If-None-Match list names the ETag (weak comparison, as for GET). */
function etagListHas(list: string, etag: string): boolean {
  const bare = (t: string) => t.trim().replace(/^W\//, "");
  return list.trim() === "*" || list.split(",").some((t) => bare(t) === bare(etag));
}

function errorOf(status: number, path: string, headers?: Headers): ApiError {
  // The API says when it expects to answer again (a rate limit, its store away): so does the page.
  const later = { retryAfter: headers?.get("retry-after") ?? undefined };
  if (status === 404) return new ApiError("not_found", 404, `The API has nothing at ${path}`);
  if (status === 410) return new ApiError("gone", 410, `The API says ${path} is gone`);
  if (status === 400) return new ApiError("bad_request", 400, `The API refused ${path}`);
  if (status === 429) return new ApiError("busy", 503, "The API is rate limiting the site", later);
  return new ApiError("down", 503, `The API answered ${status} for ${path}`, later);
}
