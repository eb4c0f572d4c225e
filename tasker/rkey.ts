/**
 * The record key of the reply to a mention, derived from the mention alone. Creating a
 * record with a key that exists fails, so a reply retried after a crash, a lost answer or
 * a redelivery can never become a second post: whoever comes second finds the first.
 *
 * Post keys must be TIDs (the PDS refuses anything else): 53 bits of microseconds and 10
 * bits of clock id. The microseconds are the mention's commit time plus up to 999 µs, and
 * those and the clock id come from a hash of the mention's URI, so two mentions of the
 * same millisecond still get different keys (one chance in a million to meet).
 */
import { createHash } from "node:crypto";

const ALPHABET = "234567abcdefghijklmnopqrstuvwxyz";

/** A TID (13 base32-sortable characters) of a time in microseconds and a clock id. */
export function tid(micros: bigint, clockId: number): string {
  let n = ((micros & ((1n << 53n) - 1n)) << 10n) | BigInt(clockId & 1023);
  let out = "";
  for (let i = 0; i < 13; i++) {
    out = ALPHABET[Number(n & 31n)] + out;
    n >>= 5n;
  }
  return out;
}

/** The reply's record key for the mention at `uri`, committed at `timeMs`. */
export function replyRkey(uri: string, timeMs: number): string {
  const h = createHash("sha256").update(uri).digest();
  const spread = ((h[0] << 8) | h[1]) % 1000;
  const clockId = ((h[2] << 8) | h[3]) & 1023;
  return tid(BigInt(Math.trunc(timeMs)) * 1000n + BigInt(spread), clockId);
}
