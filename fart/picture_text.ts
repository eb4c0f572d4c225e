/**
 * The circles picture's words: who a person is for text alternatives, the date range it
 * prints, and text written as character references so that it stays well-formed XML.
 * @module
 */
import { displayText, HANDLE_TEXT, isolate } from "@bsky/shared/display_text";

/** Who a label or placeholder is about: the API's and the site's profiles alike. */
export interface Named {
  did: string;
  handle?: string | null;
  displayName?: string | null;
}

/**
 * "Name (@handle)", or "@handle", or the DID: for text alternatives. The name is isolated so
 * that a right-to-left one cannot reorder the rest of the label.
 */
export function personLabel(person: Named): string {
  const handle = displayText(person.handle, HANDLE_TEXT);
  const who = handle ? `@${handle}` : person.did;
  const name = displayText(person.displayName);
  return name ? `${isolate(name)} (${who})` : who;
}

/**
 * The days a span covers, in UTC so that the picture is the same wherever it is drawn:
 * "2024-05-01 – 2024-05-31". A span runs from `from` up to `to`, which is not in it: an ISO
 * week ending at Monday 00:00 ends on the Sunday, a month on its last day, a rolling window
 * ending at midnight on the day before, as the site's names of weeks do. A span within one
 * day prints that day alone.
 */
export function dateRange(from: Date, to: Date): string {
  const first = isoDay(from, "from");
  const last = isoDay(new Date(Math.max(from.getTime(), to.getTime() - 1)), "to");
  return first === last ? first : `${first} – ${last}`;
}

function isoDay(date: Date, name: string): string {
  if (Number.isNaN(date.getTime())) throw new RangeError(`Invalid ${name} date: "${date}"`);
  return date.toISOString().slice(0, 10);
}

/**
 * Text content written as character references where markup could read it: the same in a
 * page and in an XML document, where "]]>" may not stand in text as Preact leaves it.
 */
export function chars(text: string) {
  return { dangerouslySetInnerHTML: { __html: escapeXml(text) } };
}

/** `&`, `<`, `>`, `"` and `'` as character references. */
function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
