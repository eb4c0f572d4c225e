/** DIDs and record keys for the backfill's tests. */

/** A valid did:plc for account n (its digits spelled in letters). */
export const did = (n: number) =>
  `did:plc:${String(n).padStart(24, "a").replace(/[0-9]/g, (d) => "bcdefghijk"[+d])}`;

/** The account whose posts the tests' repositories like. */
export const TARGET = "did:plc:zzzzzzzzzzzzzzzzzzzzzzzz";

const S32 = "234567abcdefghijklmnopqrstuvwxyz";

/** A TID for an instant (ms), clock id `n`. */
export function tid(ms: number, n = 0): string {
  let v = (BigInt(ms) * 1000n << 10n) + BigInt(n);
  let out = "";
  for (let i = 0; i < 13; i++) {
    out = S32[Number(v & 31n)] + out;
    v >>= 5n;
  }
  return out;
}
