/**
 * Posting a reply at its planned record key, at most once: the key is looked up first
 * (unless the plan is fresh), then created; a key that exists already holds the reply made
 * before, or something else (RkeyTakenError). The PDS's passing failures are waited through
 * for a while, then handed back to be tried again later.
 */
import type { Clock } from "@bsky/shared/clock";
import type { Logger } from "@bsky/shared/log";
import { backoff, RetryableError, RetryLaterError, sleep } from "./http.ts";
import { POST } from "./mention.ts";
import type { PdsSession } from "./pds.ts";

/** How long one attempt at posting waits through the PDS's failures before it hands back. */
const POST_WAIT_MS = 60_000;

/** The record at the reply's key belongs to something else: nothing more is tried. */
export class RkeyTakenError extends Error {
  override name = "RkeyTakenError";
}

/**
 * The reply at `rkey`: found if it was made before, created otherwise. The first attempt
 * of a fresh plan creates at once; should the key exist after all (another tasker got
 * there), the PDS refuses it and the next attempt finds the reply.
 */
export async function postOnce(
  { pds, clock, log }: { pds: PdsSession; clock: Clock; log: Logger },
  rkey: string,
  record: Record<string, unknown>,
  mention: string,
  lookFirst: boolean,
): Promise<{ uri: string; created: boolean }> {
  const deadline = clock.now() + POST_WAIT_MS;
  for (let attempt = 1;; attempt++) {
    const existing = attempt > 1 || lookFirst ? await pds.getRecord(POST, rkey) : undefined;
    if (existing) {
      const reply = existing.value.reply as { parent?: { uri?: unknown } } | undefined;
      if (reply?.parent?.uri !== mention) {
        throw new RkeyTakenError(`Cannot reply: the record at "${rkey}" answers something else`);
      }
      return { uri: existing.uri, created: false };
    }
    try {
      const out = await pds.createRecord(POST, rkey, record);
      return { uri: out.uri, created: true };
    } catch (err) {
      if (!(err instanceof RetryableError)) throw err;
      const at = err.retryAt ?? clock.now() + backoff(attempt);
      if (at > deadline) throw new RetryLaterError(err.message, at, { cause: err });
      log.warn("Cannot create a reply yet; trying again", {
        mention,
        err: err.message,
        inMs: at - clock.now(),
      });
      await sleep(at - clock.now());
    }
  }
}
