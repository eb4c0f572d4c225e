/**
 * Text from the network (display names, handles) made safe to print: the one place that
 * decides what of it may reach an SVG, a PNG or a page. Records are written by anyone, and a
 * relay or PDS may pass what a lexicon forbids, so nothing is assumed of them:
 *
 * - characters XML forbids (C0 controls, U+FFFE, U+FFFF, lone surrogates) would make an SVG
 *   ill-formed and its PNG fail for everyone whose circle shows that account;
 * - bidi embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069) would reorder the
 *   text around a name, so they are dropped; {@linkcode isolate} then keeps a name, whatever
 *   its direction, from reordering the label it sits in;
 * - a name is one line, and no longer than the profile lexicon allows.
 *
 * What is left is plain Unicode text: emoji sequences (ZWJ, variation selectors, tags) and
 * every script stay whole. Markup is not touched here: SVG and HTML writers escape it.
 * @module
 */

/** app.bsky.actor.profile's displayName: at most 64 graphemes... */
export const DISPLAY_NAME_MAX_GRAPHEMES = 64;
/** ...and 640 bytes of UTF-8. */
export const DISPLAY_NAME_MAX_BYTES = 640;

/** Line breaks and other separators: a name is one line. */
const BREAKS = /[\t\n\v\f\r\u0085\u2028\u2029]+/g;
/**
 * Controls (C0, DEL, C1), noncharacters (U+FDD0–U+FDEF and the last two code points of
 * every plane, U+FFFE and U+FFFF among them) and the bidi controls that reach beyond
 * their own text. Marks (U+200E, U+200F, U+061C) stay: they act like any letter.
 */
const DROPPED = /[\p{Cc}\p{Noncharacter_Code_Point}\u202a-\u202e\u2066-\u2069]/gu;
const ELLIPSIS = "…";

const graphemes = new Intl.Segmenter(undefined, { granularity: "grapheme" });
const encoder = new TextEncoder();

export interface DisplayTextOptions {
  /** Longest result in graphemes (default: a display name's 64). */
  maxGraphemes?: number;
  /** Longest result in bytes of UTF-8 (default: a display name's 640). */
  maxBytes?: number;
}

/** Limits for a handle with its "@": a handle is at most 253 characters. */
export const HANDLE_TEXT: DisplayTextOptions = { maxGraphemes: 254, maxBytes: 1016 };

/**
 * A display name or handle as it may be printed: forbidden and reordering characters
 * removed, lone surrogates as U+FFFD, breaks as spaces, runs of spaces as one, trimmed, and
 * cut at a grapheme boundary with "…" when longer than the limits. Not a string: "".
 */
export function displayText(value: unknown, options: DisplayTextOptions = {}): string {
  const text = clean(value);
  const maxGraphemes = options.maxGraphemes ?? DISPLAY_NAME_MAX_GRAPHEMES;
  const maxBytes = options.maxBytes ?? DISPLAY_NAME_MAX_BYTES;
  // Most names are short: a string of n UTF-16 units has at most n graphemes, 3n bytes.
  if (text.length <= maxGraphemes && text.length * 3 <= maxBytes) return text;
  return cut(text, maxGraphemes, maxBytes);
}

/** The first grapheme of a text as displayText leaves it, upper-cased, or "". */
export function firstGrapheme(value: unknown): string {
  for (const { segment } of graphemes.segment(clean(value))) return segment.toUpperCase();
  return "";
}

/**
 * A text wrapped in FIRST STRONG ISOLATE … POP DIRECTIONAL ISOLATE, for plain-text labels
 * that hold names ("Name (@handle), …"): a right-to-left name then keeps its own direction
 * without moving the punctuation and names around it. Pass it displayText's output, which
 * holds no isolate of its own that could close this one early.
 */
export function isolate(text: string): string {
  return text ? `\u2068${text}\u2069` : text;
}

function clean(value: unknown): string {
  if (typeof value !== "string") return "";
  return value.toWellFormed()
    .replace(BREAKS, " ")
    .replace(DROPPED, "")
    .replace(/ {2,}/g, " ")
    .trim();
}

function cut(text: string, maxGraphemes: number, maxBytes: number): string {
  const kept: string[] = [];
  let bytes = 0;
  for (const { segment } of graphemes.segment(text)) {
    const size = encoder.encode(segment).length;
    if (kept.length === maxGraphemes || bytes + size > maxBytes) {
      // Too long: make room for the ellipsis (one grapheme, three bytes).
      while (kept.length > 0 && (kept.length + 1 > maxGraphemes || bytes + 3 > maxBytes)) {
        bytes -= encoder.encode(kept.pop()!).length;
      }
      return kept.join("").trimEnd() + ELLIPSIS;
    }
    kept.push(segment);
    bytes += size;
  }
  return text;
}
