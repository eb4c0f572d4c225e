/** What went wrong when asking the API, as the site's pages tell it: by kind and status. */
export type ApiErrorKind = "not_found" | "gone" | "bad_request" | "busy" | "down" | "limited";

/** What went wrong when asking the API, as the page will tell it. */
export class ApiError extends Error {
  override name = "ApiError";
  /** When to ask again, in seconds (the API's Retry-After), for an answer of 503 or 429. */
  readonly retryAfter?: string;
  /** The address's parameters that are not valid (names the site defines), for the page. */
  readonly fields?: string[];
  constructor(
    readonly kind: ApiErrorKind,
    /** The status the site answers with. */
    readonly status: number,
    message: string,
    options?: ErrorOptions & { retryAfter?: string; fields?: string[] },
  ) {
    super(message, options);
    this.retryAfter = options?.retryAfter;
    this.fields = options?.fields;
  }
}

/** The ApiError of an answer's status (the API's Retry-After kept for the page). */
export function errorOf(status: number, path: string, headers?: Headers): ApiError {
  // The API says when it expects to answer again (a rate limit, its store away): so does the page.
  const later = { retryAfter: headers?.get("retry-after") ?? undefined };
  if (status === 404) return new ApiError("not_found", 404, `The API has nothing at ${path}`);
  if (status === 410) return new ApiError("gone", 410, `The API says ${path} is gone`);
  if (status === 400) return new ApiError("bad_request", 400, `The API refused ${path}`);
  if (status === 429) return new ApiError("busy", 503, "The API is rate limiting the site", later);
  return new ApiError("down", 503, `The API answered ${status} for ${path}`, later);
}
