/**
 * The site's client of the API: JSON answers kept in memory for a short while (concurrent
 * asks for the same one share a single request), images passed through and kept in memory
 * for as long as the API says they may be cached (every visitor of a circle shows the same
 * avatars: without this, each page view would ask the API for up to 49 of them), and every
 * failure turned into an ApiError that the router shows as a page.
 */

export type ApiErrorKind = "not_found" | "gone" | "bad_request" | "busy" | "down";

/** What went wrong when asking the API, as the page will tell it. */
export class ApiError extends Error {
  override name = "ApiError";
  /** When to ask again, in seconds (the API's Retry-After), for an answer of 503. */
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
  /** Most answers kept at once. */
  maxEntries?: number;
  /** Most bytes of images kept at once (32 MB unless said). */
  maxImageBytes?: number;
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

interface Entry {
  expires: number;
  value: unknown;
}

export class ApiClient {
  readonly #fetch: typeof fetch;
  readonly #cache = new Map<string, Entry>();
  readonly #inflight = new Map<string, Promise<unknown>>();
  readonly #max: number;
  /** Images by path, oldest use first; their bytes add up to #imageBytes. */
  readonly #images = new Map<string, Image>();
  #imageBytes = 0;
  readonly #maxImageBytes: number;

  constructor(readonly options: ApiClientOptions) {
    this.#fetch = options.fetch ?? fetch;
    this.#max = options.maxEntries ?? 2000;
    this.#maxImageBytes = options.maxImageBytes ?? 32 << 20;
  }

  #headers(extra?: HeadersInit): Headers {
    const headers = new Headers(extra);
    if (this.options.key) headers.set("authorization", `Bearer ${this.options.key}`);
    return headers;
  }

  async #request(path: string, init?: RequestInit): Promise<Response> {
    try {
      return await this.#fetch(`${this.options.baseUrl}${path}`, init);
    } catch (err) {
      throw new ApiError("down", 503, `The API cannot be reached: ${String(err)}`, { cause: err });
    }
  }

  /** A JSON answer; 404, 410, 400, 429 and 5xx become ApiErrors. `fresh`: never from memory. */
  json<T>(path: string, { fresh = false } = {}): Promise<T> {
    if (fresh) return this.#send<T>(path, "GET");
    const now = Date.now();
    const hit = this.#cache.get(path);
    if (hit && hit.expires > now) return Promise.resolve(hit.value as T);
    const pending = this.#inflight.get(path);
    if (pending) return pending as Promise<T>;
    const work = (async () => {
      const value = await this.#send(path, "GET");
      if (this.options.cacheSeconds > 0) {
        if (this.#cache.size >= this.#max) {
          this.#cache.delete(this.#cache.keys().next().value!);
        }
        this.#cache.set(path, { expires: Date.now() + this.options.cacheSeconds * 1000, value });
      }
      return value;
    })().finally(() => this.#inflight.delete(path));
    this.#inflight.set(path, work);
    return work as Promise<T>;
  }

  /** A POST (the API's one write: asking for an opt code); errors as for json(). */
  post<T>(path: string): Promise<T> {
    return this.#send<T>(path, "POST");
  }

  async #send<T>(path: string, method: string): Promise<T> {
    const res = await this.#request(path, { method, headers: this.#headers() });
    if (!res.ok) {
      await res.body?.cancel();
      throw errorOf(res, path);
    }
    return await res.json() as T;
  }

  /**
   * An image passed through to the browser with its type, ETag and cache headers (a
   * conditional request is answered or forwarded, so a 304 stays a 304). Images the API
   * lets be cached are served from memory until their max-age is over.
   */
  async image(path: string, req: Request): Promise<Response> {
    const ifNoneMatch = req.headers.get("if-none-match");
    const kept = this.#images.get(path);
    if (kept && kept.expires > Date.now()) {
      // Most recently used last, so the oldest use goes first when room is needed.
      this.#images.delete(path);
      this.#images.set(path, kept);
      return imageResponse(kept, ifNoneMatch);
    }
    if (kept) this.#forget(path);
    const res = await this.#request(path, {
      headers: this.#headers(ifNoneMatch ? { "if-none-match": ifNoneMatch } : undefined),
    });
    if (res.status !== 200 && res.status !== 304) {
      await res.body?.cancel();
      throw errorOf(res, path);
    }
    const headers: [string, string][] = IMAGE_HEADERS.flatMap((name) => {
      const value = res.headers.get(name);
      return value ? [[name, value] as [string, string]] : [];
    });
    const maxAge = Number(res.headers.get("cache-control")?.match(/max-age=(\d+)/)?.[1] ?? 0);
    const size = Number(res.headers.get("content-length") ?? NaN);
    if (res.status === 200 && maxAge > 0 && !(size > MAX_KEPT_IMAGE)) {
      const body = new Uint8Array(await res.arrayBuffer());
      const image = {
        expires: Date.now() + maxAge * 1000,
        body,
        headers,
        etag: res.headers.get("etag"),
      };
      if (body.length <= MAX_KEPT_IMAGE) this.#keep(path, image);
      return imageResponse(image, null);
    }
    const out = new Headers(headers);
    out.set("x-content-type-options", "nosniff");
    return new Response(res.status === 304 ? null : res.body, { status: res.status, headers: out });
  }

  #keep(path: string, image: Image) {
    this.#images.set(path, image);
    this.#imageBytes += image.body.length;
    for (const [old] of this.#images) {
      if (this.#imageBytes <= this.#maxImageBytes) break;
      this.#forget(old);
    }
  }

  #forget(path: string) {
    const image = this.#images.get(path);
    if (!image) return;
    this.#images.delete(path);
    this.#imageBytes -= image.body.length;
  }

  /** How many images are kept, and their bytes. */
  get imagesKept(): { count: number; bytes: number } {
    return { count: this.#images.size, bytes: this.#imageBytes };
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

function errorOf({ status, headers }: Response, path: string): ApiError {
  // The API says when it expects to answer again (a rate limit, its store away): so does the page.
  const later = { retryAfter: headers.get("retry-after") ?? undefined };
  if (status === 404) return new ApiError("not_found", 404, `The API has nothing at ${path}`);
  if (status === 410) return new ApiError("gone", 410, `The API says ${path} is gone`);
  if (status === 400) return new ApiError("bad_request", 400, `The API refused ${path}`);
  if (status === 429) return new ApiError("busy", 503, "The API is rate limiting the site", later);
  return new ApiError("down", 503, `The API answered ${status} for ${path}`, later);
}
