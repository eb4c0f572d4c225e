/**
 * What a reply to a post needs (the `watched` fact), for posts that mention an account of
 * the watch list (shared/watch.ts): read from the whole record, which only those posts pay
 * for.
 */
import {
  type PostRef,
  type RecordFacts,
  WATCHED_TEXT_MAX,
  type WatchedPost,
} from "@bsky/shared/events";
import { isValidDid, parseAtUri } from "@bsky/shared/syntax";
import { CID, type Limits, obj, POST } from "./normalize.ts";

const LANG = /^[A-Za-z0-9-]{1,64}$/;

function postRef(v: unknown): PostRef | undefined {
  const r = obj(v);
  const parsed = parseAtUri(r?.uri);
  if (!parsed || parsed.collection !== POST || !parsed.rkey || !isValidDid(parsed.authority)) {
    return undefined;
  }
  return typeof r!.cid === "string" && CID.test(r!.cid)
    ? { uri: r!.uri as string, cid: r!.cid }
    : undefined;
}

/**
 * What a reply to this post needs, from the whole record: undefined when the record does
 * not allow a well-formed reply (no text, a bad CID, a thread without strong refs).
 */
export function watchedPost(record: unknown, cid: unknown): WatchedPost | undefined {
  const r = obj(record);
  if (!r || typeof r.text !== "string" || typeof cid !== "string" || !CID.test(cid)) {
    return undefined;
  }
  const post: WatchedPost = { cid, text: r.text.slice(0, WATCHED_TEXT_MAX) };
  if (Array.isArray(r.langs)) {
    const langs = r.langs.filter((l): l is string => typeof l === "string" && LANG.test(l));
    if (langs.length > 0) post.langs = langs.slice(0, 3);
  }
  if (typeof r.createdAt === "string" && r.createdAt.length <= 64) post.createdAt = r.createdAt;
  const reply = obj(r.reply);
  if (reply) {
    const root = postRef(reply.root), parent = postRef(reply.parent);
    if (!root || !parent) return undefined;
    post.root = root;
    post.parent = parent;
  }
  return post;
}

/**
 * Adds `watched` to the facts of a post that mentions a watched account. Only such posts pay
 * for reading the whole record (`record()`) and the CID (`cid()`); a record that cannot be
 * read whole keeps its other facts.
 */
export function addWatched(
  facts: RecordFacts,
  limits: Limits,
  record: () => unknown,
  cid: () => unknown,
): void {
  const watch = limits.watch;
  if (!watch || watch.size === 0 || !facts.mentions?.some((did) => watch.has(did))) return;
  try {
    const post = watchedPost(record(), cid());
    if (post) facts.watched = post;
  } catch {
    // Unreadable in full: the facts the indexer needs still stand.
  }
}
