/**
 * What every HTTP call of the tasker shares: bodies read up to a bound (shared/bounded_read.ts),
 * waits between attempts, and the errors that say whether to try again.
 */
import { readBody } from "@bsky/shared/bounded_read";

export { readBody };

/** A call failed in a way worth trying again: a 5xx, a 429, a lost connection. */
export class RetryableError extends Error {
  override name = "RetryableError";
  constructor(message: string, readonly retryAt: number | undefined, options?: ErrorOptions) {
    super(message, options);
  }
}

/** The step cannot finish before `at` (ms): leave the mention pending and come back then. */
export class RetryLaterError extends Error {
  override name = "RetryLaterError";
  constructor(message: string, readonly at: number, options?: ErrorOptions) {
    super(message, options);
  }
}

/** The JSON of `res`, read with a bound, or undefined when it is not JSON. */
export async function readJson(res: Response, max: number): Promise<unknown> {
  const bytes = await readBody(res, max);
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return undefined;
  }
}

/** Delay before attempt `attempt` (1-based): doubling from `baseMs`, capped, jittered. */
export function backoff(attempt: number, baseMs = 500, capMs = 30_000): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt - 1, 16));
  return Math.round(ceiling / 2 + Math.random() * ceiling / 2);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

/**
 * When a 429 says to come back (ms): `ratelimit-reset` (epoch seconds, as the PDS sends
 * it) or `retry-after` (seconds), within an hour of `now`; undefined when neither parses
 * or the time is further away.
 */
export function retryAtOf(headers: Headers, now: number): number | undefined {
  const reset = headers.get("ratelimit-reset");
  if (reset && /^\d{1,12}$/.test(reset.trim())) {
    // Epoch seconds from the PDS; a small number is a delay in seconds, as some servers send.
    const n = Number(reset);
    const at = n < 1e9 ? now + n * 1000 : n * 1000;
    if (at >= now - 60_000 && at <= now + 3_600_000) return Math.max(at, now);
  }
  const after = headers.get("retry-after");
  if (after && /^\d{1,6}$/.test(after.trim())) return now + Math.min(Number(after), 3600) * 1000;
  return undefined;
}
