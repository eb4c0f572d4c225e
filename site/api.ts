/**
 * The site's client of the API: JSON answers kept in memory for a short while (concurrent
 * asks for the same one share a single request), images passed through, and every failure
 * turned into an ApiError that the router shows as a page.
 */

export type ApiErrorKind = "not_found" | "gone" | "bad_request" | "busy" | "down";

/** What went wrong when asking the API, as the page will tell it. */
export class ApiError extends Error {
  override name = "ApiError";
  constructor(
    readonly kind: ApiErrorKind,
    /** The status the site answers with. */
    readonly status: number,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export interface ApiClientOptions {
  baseUrl: string;
  key?: string;
  cacheSeconds: number;
  fetch?: typeof fetch;
  /** Most answers kept at once. */
  maxEntries?: number;
}

interface Entry {
  expires: number;
  value: unknown;
}

export class ApiClient {
  readonly #fetch: typeof fetch;
  readonly #cache = new Map<string, Entry>();
  readonly #inflight = new Map<string, Promise<unknown>>();
  readonly #max: number;

  constructor(readonly options: ApiClientOptions) {
    this.#fetch = options.fetch ?? fetch;
    this.#max = options.maxEntries ?? 2000;
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

  /** A JSON answer; 404, 410, 400, 429 and 5xx become ApiErrors. */
  json<T>(path: string): Promise<T> {
    const now = Date.now();
    const hit = this.#cache.get(path);
    if (hit && hit.expires > now) return Promise.resolve(hit.value as T);
    const pending = this.#inflight.get(path);
    if (pending) return pending as Promise<T>;
    const work = (async () => {
      const res = await this.#request(path, { headers: this.#headers() });
      if (!res.ok) {
        await res.body?.cancel();
        throw errorOf(res.status, path);
      }
      const value = await res.json();
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

  /**
   * An image passed through to the browser with its type, ETag and cache headers (a
   * conditional request is forwarded, so a 304 stays a 304).
   */
  async image(path: string, req: Request): Promise<Response> {
    const ifNoneMatch = req.headers.get("if-none-match");
    const res = await this.#request(path, {
      headers: this.#headers(ifNoneMatch ? { "if-none-match": ifNoneMatch } : undefined),
    });
    if (res.status !== 200 && res.status !== 304) {
      await res.body?.cancel();
      throw errorOf(res.status, path);
    }
    const headers = new Headers();
    for (const name of ["content-type", "etag", "cache-control", "content-length"]) {
      const value = res.headers.get(name);
      if (value) headers.set(name, value);
    }
    headers.set("x-content-type-options", "nosniff");
    return new Response(res.status === 304 ? null : res.body, { status: res.status, headers });
  }
}

function errorOf(status: number, path: string): ApiError {
  if (status === 404) return new ApiError("not_found", 404, `The API has nothing at ${path}`);
  if (status === 410) return new ApiError("gone", 410, `The API says ${path} is gone`);
  if (status === 400) return new ApiError("bad_request", 400, `The API refused ${path}`);
  if (status === 429) return new ApiError("busy", 503, "The API is rate limiting the site");
  return new ApiError("down", 503, `The API answered ${status} for ${path}`);
}
