/**
 * Parts of a page made once from the API's answers: the site keeps an answer, the same
 * object, for SITE_CACHE_SECONDS, and every visitor of a page in that time is shown the same
 * figure, table and lists made from it. Kept least recently used first, bounded in entries
 * and bytes like the answers themselves, so that many variants (colours, languages) of many
 * answers cannot grow memory.
 * @module
 */
import { BoundedMap, stringBytes } from "@bsky/shared/bounded_map";

/** A number for each answer object, never given twice: a new answer is a new key. */
const ids = new WeakMap<object, number>();
let lastId = 0;

function idOf(answer: object): number {
  let id = ids.get(answer);
  if (id === undefined) ids.set(answer, id = ++lastId);
  return id;
}

const made = new BoundedMap<string, string>({
  maxEntries: 1024,
  maxBytes: 8 << 20,
  sizeOf: (key, text) => stringBytes(key) + stringBytes(text),
});

/**
 * The text `make` gives from `answers` (and what `key` names besides: options, language),
 * made once for as long as it is kept. `make` must read nothing but those.
 */
export function madeOnce(answers: object[], key: string, make: () => string): string {
  const at = `${answers.map(idOf).join(",")} ${key}`;
  let text = made.get(at);
  if (text === undefined) made.set(at, text = make());
  return text;
}
