/**
 * Post text with link facets. A facet's range counts bytes of the text's UTF-8, not
 * characters, so the text is built from pieces and each link's range is measured as it is
 * appended: an accent or an emoji before a link moves its bytes, never its place.
 */

export interface LinkFacet {
  index: { byteStart: number; byteEnd: number };
  features: [{ $type: "app.bsky.richtext.facet#link"; uri: string }];
}

/** A piece of text, a link when `link` is given. */
export type Piece = string | { text: string; link: string };

/** app.bsky.feed.post's text limits. */
export const POST_MAX_GRAPHEMES = 300;
export const POST_MAX_BYTES = 3000;

const encoder = new TextEncoder();
const segmenter = new Intl.Segmenter(undefined, { granularity: "grapheme" });

export function graphemes(text: string): number {
  let n = 0;
  for (const _ of segmenter.segment(text)) n++;
  return n;
}

/** Whether a text fits in a post. */
export function fitsPost(text: string): boolean {
  return encoder.encode(text).length <= POST_MAX_BYTES &&
    graphemes(text) <= POST_MAX_GRAPHEMES;
}

/** Joins the pieces into a post's text and its link facets. */
export function richText(
  pieces: readonly Piece[],
): { text: string; facets: LinkFacet[] } {
  let text = "", bytes = 0;
  const facets: LinkFacet[] = [];
  for (const piece of pieces) {
    const part = typeof piece === "string" ? piece : piece.text;
    const length = encoder.encode(part).length;
    if (typeof piece !== "string") {
      facets.push({
        index: { byteStart: bytes, byteEnd: bytes + length },
        features: [{ $type: "app.bsky.richtext.facet#link", uri: piece.link }],
      });
    }
    text += part;
    bytes += length;
  }
  return { text, facets };
}
