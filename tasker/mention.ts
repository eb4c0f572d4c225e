/**
 * Mentions of the bot: which firehose events are one (a new post of another account that
 * mentions the bot) and whether their parts (DIDs, record keys, CIDs, the thread's refs)
 * are well-formed enough to reply to.
 */
import type { FirehoseEvent, PostRef, WatchedPost } from "@bsky/shared/events";
import { isValidDid, isValidRecordKey, parseAtUri } from "@bsky/shared/syntax";

export const POST = "app.bsky.feed.post";
const CID = /^b[a-z2-7]{50,120}$/;

/** A mention of the bot, its parts checked. */
export interface Mention {
  uri: string;
  author: string;
  /** The commit time (ms). */
  time: number;
  post: WatchedPost;
  root: PostRef;
  parent: PostRef;
}

/** The record at the reply's key belongs to something else: nothing more is tried. */
function isPostRef(ref: PostRef | undefined): ref is PostRef {
  const at = parseAtUri(ref?.uri);
  return !!at && at.collection === POST && !!at.rkey && isValidDid(at.authority) &&
    CID.test(ref!.cid);
}

/**
 * The mention an event is, if it is a post of another account that mentions `bot` and
 * carries what a reply needs; "malformed" when its parts do not check; undefined when it
 * is not such a post at all.
 */
export function mentionOf(
  e: FirehoseEvent,
  bot: string,
): Mention | "self" | "malformed" | undefined {
  if (e.kind !== "commit" || e.action !== "create" || e.collection !== POST) return undefined;
  if (!e.watched || !e.mentions?.includes(bot)) return undefined;
  if (e.did === bot) return "self";
  if (!isValidDid(e.did) || !isValidRecordKey(e.rkey) || !CID.test(e.watched.cid)) {
    return "malformed";
  }
  const uri = `at://${e.did}/${POST}/${e.rkey}`;
  // The reply goes under the mention, in the thread the mention is in (or starts).
  const parent = { uri, cid: e.watched.cid };
  const root = e.watched.root ?? parent;
  if (!isPostRef(parent) || !isPostRef(root)) return "malformed";
  return { uri, author: e.did, time: e.time, post: e.watched, root, parent };
}
