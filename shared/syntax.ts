/**
 * AT Protocol identifier syntax, checked against the official interop vectors.
 * Hand-written rather than imported so that the hot path of the firehose does
 * not pull a validation framework into every op.
 */

const DID_RE = /^did:[a-z]+:[a-zA-Z0-9._:%-]*[a-zA-Z0-9._-]$/;
const HANDLE_RE =
  /^([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/;
const NSID_RE =
  /^[a-zA-Z]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)+\.[a-zA-Z][a-zA-Z0-9]{0,62}$/;
const RKEY_RE = /^[a-zA-Z0-9._~:-]{1,512}$/;
const TID_RE = /^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$/;
const AT_URI_RE =
  /^at:\/\/([a-zA-Z0-9._:%-]+)(?:\/([a-zA-Z0-9.-]+)(?:\/([a-zA-Z0-9._~:@!$&%')(*+,;=-]+))?)?(?:#(\/[a-zA-Z0-9._~:@!$&%')(*+,;=\-[\]/\\]*))?$/;

const PLC_DID_RE = /^did:plc:[a-z2-7]{24}$/;

/**
 * Top-level domains the handle specification disallows: special-use and reserved names no
 * account can hold ("handle.invalid" is how the network shows an account whose handle
 * failed verification).
 */
export const RESERVED_TLDS: readonly string[] = [
  "alt",
  "arpa",
  "example",
  "internal",
  "invalid",
  "local",
  "localhost",
  "onion",
];

/** A DID of any method, as the spec's syntax allows (max 2 KiB). */
export function isValidDid(value: unknown): value is string {
  return typeof value === "string" && value.length <= 2048 && DID_RE.test(value);
}

/** A handle (a DNS name, max 253 chars); reserved TLDs pass here: see hasReservedTld(). */
export function isValidHandle(value: unknown): value is string {
  return typeof value === "string" && value.length <= 253 && HANDLE_RE.test(value);
}

/** A did:plc as the method makes them: 24 characters of lowercase base32 after the prefix. */
export function isValidPlcDid(value: unknown): value is string {
  return typeof value === "string" && PLC_DID_RE.test(value);
}

/** A handle under a top-level domain no account can hold (see RESERVED_TLDS). */
export function hasReservedTld(handle: string): boolean {
  const tld = handle.slice(handle.lastIndexOf(".") + 1).toLowerCase();
  return RESERVED_TLDS.includes(tld);
}

/** A namespaced identifier such as app.bsky.feed.post. */
export function isValidNsid(value: unknown): value is string {
  return typeof value === "string" && value.length <= 317 && NSID_RE.test(value) &&
    value.split(".").length >= 3;
}

/** A record key. */
export function isValidRecordKey(value: unknown): value is string {
  return typeof value === "string" && value !== "." && value !== ".." && RKEY_RE.test(value);
}

/** A timestamp identifier (13 chars, sortable base32). */
export function isValidTid(value: unknown): value is string {
  return typeof value === "string" && TID_RE.test(value);
}

/** The parts of an AT-URI. */
export interface AtUri {
  authority: string;
  collection?: string;
  rkey?: string;
}

/** Parses an AT-URI; returns undefined when the syntax is not valid. */
export function parseAtUri(value: unknown): AtUri | undefined {
  if (typeof value !== "string" || value.length > 8192) return undefined;
  const m = AT_URI_RE.exec(value);
  if (!m) return undefined;
  const [, authority, collection, rkey] = m;
  if (!isValidDid(authority) && !isValidHandle(authority)) return undefined;
  // Nearly every URI on the network points at a post: skip the NSID check for it.
  if (collection !== undefined && collection !== "app.bsky.feed.post" && !isValidNsid(collection)) {
    return undefined;
  }
  if (rkey !== undefined && !isValidRecordKey(rkey)) return undefined;
  return { authority, collection, rkey };
}

/** True when the string is a syntactically valid AT-URI. */
export function isValidAtUri(value: unknown): value is string {
  return parseAtUri(value) !== undefined;
}
