/**
 * The platform's API (fart), as the tasker reads it: the circles layout (who is in which
 * ring), the circles PNG, and the 24-hour top list. The API already leaves out accounts that
 * opted out or are not active; answers are still bounded and checked like any other.
 */
import { z } from "zod";
import type { Clock } from "@bsky/shared/clock";
import { isValidDid } from "@bsky/shared/syntax";
import type { CirclesOptions } from "./command.ts";
import { backoff, readBody, readJson, retryAtOf, RetryLaterError, sleep } from "./http.ts";

const person = z.object({
  did: z.string().refine(isValidDid),
  handle: z.string().max(253).nullable(),
  displayName: z.string().max(2000).nullable(),
});

const circlesAnswer = z.object({
  actor: person,
  rings: z.array(z.object({ people: z.array(person).max(100) })).max(3),
});
export type CirclesAnswer = z.infer<typeof circlesAnswer>;

const topAnswer = z.object({
  items: z.array(person.extend({ count: z.number().int().nonnegative() })).max(1000),
});
export type TopItem = z.infer<typeof topAnswer>["items"][number];

/** The Bluesky app's limit for an image blob. */
export const IMAGE_MAX_BYTES = 1_000_000;
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** A PNG's width and height from its IHDR chunk; undefined when the bytes are not a PNG. */
export function pngSize(bytes: Uint8Array): { width: number; height: number } | undefined {
  if (bytes.length < 33 || PNG_SIGNATURE.some((b, i) => bytes[i] !== b)) return undefined;
  if (String.fromCharCode(...bytes.subarray(12, 16)) !== "IHDR") return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const width = view.getUint32(16), height = view.getUint32(20);
  return width > 0 && height > 0 && width <= 10_000 && height <= 10_000
    ? { width, height }
    : undefined;
}

/** An answer of the API that trying again will not change (a 4xx the tasker did not expect). */
export class ApiError extends Error {
  override name = "ApiError";
  constructor(readonly status: number) {
    super(`The API answered ${status}`);
  }
}

export type Circles =
  | { kind: "ok"; answer: CirclesAnswer }
  /** The API knows no interactions of the account at all. */
  | { kind: "unknown" }
  /** The account opted out, or is deactivated, taken down or deleted. */
  | { kind: "hidden" };

export class ApiClient {
  constructor(
    readonly baseUrl: string,
    readonly key: string,
    readonly clock: Clock,
    /** The longest a call waits through retries before it hands back RetryLaterError. */
    readonly maxWaitMs = 60_000,
  ) {}

  #query(o: CirclesOptions, extra: Record<string, string> = {}): string {
    return new URLSearchParams({
      window: o.window,
      direction: o.direction,
      rings: String(o.rings),
      ...extra,
    }).toString();
  }

  /** GETs `path`, retrying 429s, 5xx and lost connections; other answers are returned. */
  async #get(path: string): Promise<Response> {
    const deadline = this.clock.now() + this.maxWaitMs;
    for (let attempt = 1;; attempt++) {
      let failure: string, retryAt: number | undefined;
      try {
        const res = await fetch(`${this.baseUrl}${path}`, {
          headers: this.key ? { authorization: `Bearer ${this.key}` } : {},
          redirect: "error",
          signal: AbortSignal.timeout(30_000),
        });
        if (res.status !== 429 && res.status < 500) return res;
        await res.body?.cancel();
        failure = `The API answered ${res.status}`;
        if (res.status === 429) retryAt = retryAtOf(res.headers, this.clock.now());
      } catch (err) {
        failure = `The API cannot be reached: ${String(err).slice(0, 200)}`;
      }
      const at = retryAt ?? this.clock.now() + backoff(attempt);
      if (at > deadline) throw new RetryLaterError(failure, at);
      await sleep(at - this.clock.now());
    }
  }

  #unexpected(res: Response): Error {
    res.body?.cancel();
    return new ApiError(res.status);
  }

  /** Who is in which ring of the account's circles. */
  async circles(did: string, o: CirclesOptions): Promise<Circles> {
    const res = await this.#get(`/v1/circles/${encodeURIComponent(did)}?${this.#query(o)}`);
    if (res.status === 404) return (await res.body?.cancel(), { kind: "unknown" });
    if (res.status === 410) return (await res.body?.cancel(), { kind: "hidden" });
    if (res.status !== 200) throw this.#unexpected(res);
    const answer = circlesAnswer.parse(await readJson(res, 2_000_000));
    if (answer.actor.did !== did) {
      throw new TypeError(`The API answered for another account: "${answer.actor.did}"`);
    }
    return { kind: "ok", answer };
  }

  /**
   * The circles as a PNG within the image limit: 1200 px wide, or 600 px when that one is
   * too large. Its size comes from the image itself.
   */
  async circlesPng(
    did: string,
    o: CirclesOptions,
  ): Promise<{ bytes: Uint8Array<ArrayBuffer>; width: number; height: number }> {
    for (const width of ["1200", "600"]) {
      const res = await this.#get(
        `/v1/circles/${encodeURIComponent(did)}.png?${this.#query(o, { width })}`,
      );
      if (res.status !== 200) throw this.#unexpected(res);
      // readBody's array is its own (not a view of a shared buffer).
      const bytes = await readBody(res, 8_000_000) as Uint8Array<ArrayBuffer>;
      const size = pngSize(bytes);
      if (!size) throw new TypeError("The API's circles image is not a PNG");
      if (bytes.length <= IMAGE_MAX_BYTES) return { bytes, ...size };
    }
    throw new RangeError(`The circles image is larger than ${IMAGE_MAX_BYTES} bytes`);
  }

  /** The 24-hour list of the most liked accounts; undefined until the scheduler made one. */
  async top(): Promise<TopItem[] | undefined> {
    const res = await this.#get("/v1/stats/top?metric=likes_received&window=24h");
    if (res.status === 404) return (await res.body?.cancel(), undefined);
    if (res.status !== 200) throw this.#unexpected(res);
    return topAnswer.parse(await readJson(res, 2_000_000)).items;
  }
}
