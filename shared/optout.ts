/**
 * Opting out without signing in: the API hands out a one-time code for an account, and
 * the account proves it is theirs by posting the code. The firehose finds the code in the
 * post's text, and the indexer hides (or shows again) the account when the code was made
 * for that very account. A code is `circles-out-XXXXXXXX` or `circles-in-XXXXXXXX`: eight
 * characters of an alphabet without 0, 1, I and O, which people misread.
 */

export type OptAction = "out" | "in";

const ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
const CODE = /\bcircles-(out|in)-([A-HJ-NP-Z2-9]{8})\b/i;
/** A cheap test run on every post before the regular expression ("circles-", "Circles-"). */
const MARK = "ircles-";

/** A fresh random code. */
export function newOptCode(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  let code = "";
  for (const b of bytes) code += ALPHABET[b & 31];
  return code;
}

/** The text to post for an action and a code. */
export function optPhrase(action: OptAction, code: string): string {
  return `circles-${action}-${code}`;
}

/** The opt code a post's text carries, as "out:CODE" or "in:CODE" (uppercase), if any. */
export function findOptCode(text: string): string | undefined {
  if (!text.includes(MARK)) return undefined;
  const m = CODE.exec(text);
  return m ? `${m[1].toLowerCase()}:${m[2].toUpperCase()}` : undefined;
}

/** Whether a string is a code as the API hands them out. */
export function isOptCode(code: string): boolean {
  return /^[A-HJ-NP-Z2-9]{8}$/.test(code);
}
