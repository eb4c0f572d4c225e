/**
 * The source's XRPC calls the backfill makes: com.atproto.sync.listRepos (paged),
 * com.atproto.sync.getRepo (a CAR) and com.atproto.repo.describeRepo (the handle), paced by
 * one rate limit for the host. Every answer is read with a bound (readBody) and checked:
 * what is malformed is an error of that call, never a crash. Redirects are not followed:
 * the backfill may reach its source host and nothing else.
 */
import { BodyTooLargeError, readBody } from "@bsky/shared/bounded_read";
import type { Clock } from "@bsky/shared/clock";
import { errorMessage } from "@bsky/shared/errors";
import { isValidDid, isValidHandle } from "@bsky/shared/syntax";

/** A repository as listRepos lists it. */
export interface ListedRepo {
  did: string;
  active: boolean;
  /** Why it is inactive: deactivated, takendown, suspended, deleted… */
  status?: string;
}

export interface RepoPage {
  repos: ListedRepo[];
  /** Where the next page starts; undefined after the last. */
  cursor?: string;
  /** Entries left out as malformed. */
  malformed: number;
}

/** A call failed; `retryAfterMs` when the source said when to come back (429, 503). */
export class SourceError extends Error {
  override name = "SourceError";
  constructor(
    readonly reason: string,
    message: string,
    readonly retryAfterMs?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The source has no such repository to give (not found, taken down, deactivated…). */
export class RepoGoneError extends Error {
  override name = "RepoGoneError";
  constructor(readonly status: string) {
    super(`The repository is gone: ${status}`);
  }
}

export interface SourceOptions {
  /** The source's base URL (a relay or a PDS). */
  baseUrl: string;
  ratePerSecond: number;
  timeoutMs: number;
  maxRepoBytes: number;
  clock: Clock;
  fetch?: typeof fetch;
}

/** Bytes of a listRepos page, and of any JSON answer or error body. */
const MAX_PAGE_BYTES = 8 * 1024 * 1024;
const MAX_JSON_BYTES = 256 * 1024;
const MAX_CURSOR = 2048;
/** getRepo's errors that say the repository is not there to read (com.atproto.sync lexicon). */
const GONE = new Set(["RepoNotFound", "RepoTakendown", "RepoSuspended", "RepoDeactivated"]);

/** Paces calls to one host: at most `ratePerSecond`, evenly spread. */
export class RateLimiter {
  #next = 0;
  constructor(readonly ratePerSecond: number, readonly clock: Clock) {}

  /** Resolves when the next call may go. */
  async take(signal?: AbortSignal): Promise<void> {
    const now = this.clock.now();
    const at = Math.max(now, this.#next);
    this.#next = at + 1000 / this.ratePerSecond;
    if (at > now) await sleep(at - now, signal);
  }
}

/** Resolves after `ms`, or rejects when `signal` aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

export class Source {
  readonly limiter: RateLimiter;
  readonly #fetch: typeof fetch;
  /** Requests by method and outcome, for the metrics. */
  onRequest?: (method: string, status: string, bytes: number) => void;

  constructor(readonly options: SourceOptions) {
    this.limiter = new RateLimiter(options.ratePerSecond, options.clock);
    this.#fetch = options.fetch ?? fetch;
  }

  async #call(
    method: string,
    params: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<Response> {
    await this.limiter.take(signal);
    const url = new URL(`/xrpc/${method}`, this.options.baseUrl);
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    const timeout = AbortSignal.timeout(this.options.timeoutMs);
    let res: Response;
    try {
      res = await this.#fetch(url, {
        redirect: "manual",
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (err) {
      if (signal?.aborted) throw err;
      this.onRequest?.(method, "network", 0);
      throw new SourceError("network", `${method}: ${errorMessage(err)}`, undefined, {
        cause: err,
      });
    }
    this.onRequest?.(method, String(res.status), 0);
    return res;
  }

  /** Reads a body with its bound; a body cut short or too long is a SourceError. */
  async #body(method: string, res: Response, maxBytes: number): Promise<Uint8Array> {
    try {
      const bytes = await readBody(res, maxBytes);
      this.onRequest?.(method, "bytes", bytes.length);
      return bytes;
    } catch (err) {
      const reason = err instanceof BodyTooLargeError ? "too_large" : "network";
      throw new SourceError(reason, `${method}: ${errorMessage(err)}`, undefined, { cause: err });
    }
  }

  async #json(method: string, res: Response, maxBytes: number): Promise<unknown> {
    const bytes = await this.#body(method, res, maxBytes);
    try {
      return JSON.parse(new TextDecoder().decode(bytes));
    } catch (err) {
      throw new SourceError("bad_json", `${method}: the answer is not JSON`, undefined, {
        cause: err,
      });
    }
  }

  /** The XRPC error name of a failed answer ("" when it has none), its body read and bounded. */
  async #errorName(method: string, res: Response): Promise<string> {
    try {
      const body = await this.#json(method, res, MAX_JSON_BYTES) as { error?: unknown };
      return typeof body?.error === "string" ? body.error.slice(0, 100) : "";
    } catch {
      return "";
    }
  }

  /** A SourceError for an answer that is not a success. */
  async #failure(method: string, res: Response): Promise<SourceError> {
    const name = await this.#errorName(method, res);
    const after = Number(res.headers.get("retry-after"));
    return new SourceError(
      `status_${res.status}`,
      `${method} answered ${res.status}${name ? ` ${name}` : ""}`,
      Number.isFinite(after) && after > 0 ? Math.min(after, 3600) * 1000 : undefined,
    );
  }

  /** One page of the source's repositories. */
  async listRepos(cursor: string | undefined, limit: number, signal?: AbortSignal) {
    const method = "com.atproto.sync.listRepos";
    const params: Record<string, string> = { limit: String(limit) };
    if (cursor) params.cursor = cursor;
    const res = await this.#call(method, params, signal);
    if (!res.ok) throw await this.#failure(method, res);
    const body = await this.#json(method, res, MAX_PAGE_BYTES) as Record<string, unknown> | null;
    if (body === null || typeof body !== "object" || !Array.isArray(body.repos)) {
      throw new SourceError("bad_page", `${method}: the answer has no list of repos`);
    }
    const page: RepoPage = { repos: [], malformed: 0 };
    const seen = new Set<string>();
    for (const raw of body.repos as unknown[]) {
      const r = raw as Record<string, unknown> | null;
      if (r === null || typeof r !== "object" || !isValidDid(r.did) || seen.has(r.did)) {
        page.malformed++;
        continue;
      }
      seen.add(r.did);
      const repo: ListedRepo = { did: r.did, active: r.active !== false };
      if (typeof r.status === "string" && r.status) repo.status = r.status.slice(0, 64);
      page.repos.push(repo);
    }
    if (typeof body.cursor === "string" && body.cursor.length > 0) {
      if (body.cursor.length > MAX_CURSOR) {
        throw new SourceError("bad_page", `${method}: the cursor is longer than ${MAX_CURSOR}`);
      }
      page.cursor = body.cursor;
    }
    return page;
  }

  /** A repository's CAR; RepoGoneError when the source has none to give. */
  async getRepo(did: string, signal?: AbortSignal): Promise<Uint8Array> {
    const method = "com.atproto.sync.getRepo";
    const res = await this.#call(method, { did }, signal);
    if (res.status === 400 || res.status === 404 || res.status === 410) {
      const name = await this.#errorName(method, res);
      if (GONE.has(name) || res.status !== 400) throw new RepoGoneError(name || "RepoNotFound");
      throw new SourceError(`status_${res.status}`, `${method} answered 400 ${name}`);
    }
    if (!res.ok) throw await this.#failure(method, res);
    return await this.#body(method, res, this.options.maxRepoBytes);
  }

  /**
   * The handle the source gives the account: undefined when it has none. A source that does not serve describeRepo throws a
   * SourceError with reason "unsupported".
   */
  async describeRepo(did: string, signal?: AbortSignal): Promise<string | undefined> {
    const method = "com.atproto.repo.describeRepo";
    const res = await this.#call(method, { repo: did }, signal);
    if (res.status === 404 || res.status === 501) {
      const name = await this.#errorName(method, res);
      if (name !== "RepoNotFound") throw new SourceError("unsupported", `${method}: not served`);
      return undefined;
    }
    if (!res.ok) {
      await res.body?.cancel();
      return undefined;
    }
    const body = await this.#json(method, res, MAX_JSON_BYTES) as Record<string, unknown> | null;
    const handle = typeof body?.handle === "string" ? body.handle.toLowerCase() : undefined;
    // As the live stream's #identity events give it: the handle the PDS states, which the
    // scheduler's profile upkeep checks later (handleIsCorrect is the PDS's own check, which
    // fails for names it cannot resolve from where it runs).
    if (body?.did !== did || !isValidHandle(handle)) return undefined;
    return handle;
  }
}
