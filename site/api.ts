/**
 * The site's client of the API: JSON answers kept in memory for a short while (concurrent
 * asks for the same one share a single request), images passed through and kept in memory
 * for as long as the API says they may be cached (every visitor of a circle shows the same
 * avatars: without this, each page view would ask the API for up to 49 of them), and every
 * failure turned into an ApiError that the router shows as a page. What is kept is bounded
 * in entries and in bytes, paths included. Each call is charged to the visitor it is made
 * for (forVisitor()), and an account the API does not know is remembered for a while.
 */
import { BoundedMap, stringBytes } from "@bsky/shared/bounded_map";
import { ApiError, errorOf } from "./api/errors.ts";
import { KeptImages } from "./api/images.ts";
import type { VisitorLimiter } from "./visitor_limit.ts";

export { ApiError, type ApiErrorKind } from "./api/errors.ts";

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
  readonly #images: KeptImages;
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
    this.#images = new KeptImages(options.maxImageBytes ?? 32 << 20);
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
    const kept = this.#images.answer(path, ifNoneMatch);
    if (kept) return kept;
    const res = await this.#request(path, {
      headers: this.#headers(ifNoneMatch ? { "if-none-match": ifNoneMatch } : undefined),
    }, call);
    if (res.status !== 200 && res.status !== 304) {
      await res.body?.cancel();
      throw errorOf(res.status, path, res.headers);
    }
    return await this.#images.passOn(path, res);
  }

  /** How many images are kept, and the bytes they are counted for (paths and headers too). */
  get imagesKept(): { count: number; bytes: number } {
    return this.#images.kept;
  }

  /** How many answers are kept, and the bytes they are counted for (paths too). */
  get answersKept(): { count: number; bytes: number } {
    return { count: this.#cache.size, bytes: this.#cache.bytes };
  }
}
