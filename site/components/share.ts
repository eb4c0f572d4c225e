/**
 * Posting a page on Bluesky: the text of a new post, within the network's limit, and the
 * address of Bluesky's composer with it filled in. A plain link: it works without JavaScript.
 * @module
 */

/** Bluesky's composer, which opens with `text` filled in (the app on a phone, else the web). */
export const COMPOSE_URL = "https://bsky.app/intent/compose";

/** The longest post Bluesky takes, in graphemes (what a person sees as one character). */
export const POST_GRAPHEMES = 300;

const segmenter = new Intl.Segmenter(undefined, { granularity: "grapheme" });

/** The number of graphemes of `text`: "👍🏽" and "é" (e + accent) are one each. */
export function graphemes(text: string): number {
  // Printable ASCII and newlines: one grapheme a character (the usual address and handles).
  if (/^[\x20-\x7e\n]*$/.test(text)) return text.length;
  let n = 0;
  for (const _ of segmenter.segment(text)) n++;
  return n;
}

/** The composer's address with `text` filled in, encoded once as a query value. */
export function composeHref(text: string): string {
  return `${COMPOSE_URL}?text=${encodeURIComponent(text)}`;
}

/**
 * A post about a circles page: the lead line, the page's address, then as many of the
 * @handles as fit within `limit` graphemes, in their order. The address is never cut (a cut
 * link leads nowhere): when lead and address pass the limit, the page's plain address
 * (`plain`, without its options) stands for it; when even that does not fit beside the lead,
 * the lead goes, and the shorter address is given alone.
 */
export function circlesPost(
  lead: string,
  url: string,
  handles: readonly string[],
  limit = POST_GRAPHEMES,
  plain = url,
): string {
  if (graphemes(`${lead}\n${url}`) > limit) url = plain;
  let text = `${lead}\n${url}`;
  if (graphemes(text) > limit) return graphemes(url) <= limit ? url : plain;
  let used = graphemes(text);
  let first = true;
  for (const handle of handles) {
    const part = `${first ? "\n" : " "}@${handle}`;
    const size = graphemes(part);
    if (used + size > limit) break;
    text += part;
    used += size;
    first = false;
  }
  return text;
}
