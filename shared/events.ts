/**
 * The normalized, versioned events the firehose publishes and the indexer consumes.
 * One stream entry holds one event as the fields `v` (the version) and `e` (its JSON).
 */
import { isPostLanguages } from "./langs.ts";

export const EVENT_VERSION = 1;

/** The record collections the platform keeps; every other collection is counted and dropped. */
export const COLLECTIONS = [
  "app.bsky.feed.like",
  "app.bsky.feed.repost",
  "app.bsky.feed.post",
  "app.bsky.graph.block",
  "app.bsky.graph.follow",
  "app.bsky.actor.profile",
] as const;
export type Collection = typeof COLLECTIONS[number];

/** Each kept collection by its name, mapped to the one string the platform uses for it. */
const CANONICAL: ReadonlyMap<string, Collection> = new Map(COLLECTIONS.map((c) => [c, c]));
export function isKeptCollection(nsid: string): nsid is Collection {
  return CANONICAL.has(nsid);
}

/**
 * The kept collection named `nsid`, as this module's own string (undefined when not kept).
 * A name read off the network is a new string each time; the module's own is one string,
 * so the maps and counters keyed by collection compare it by reference and never hash it.
 */
export function keptCollection(nsid: string): Collection | undefined {
  return CANONICAL.get(nsid);
}

/** Fields every event has. */
export interface EventBase {
  v: typeof EVENT_VERSION;
  /** Where the source is: the relay's seq, or Jetstream's time_us cursor. */
  seq: number;
  /** The event time in ms since the epoch: the commit's `time`, never a record's createdAt. */
  time: number;
  /** The author or account. */
  did: string;
}

/** What the indexer needs of a created or updated record; absent fields do not apply. */
export interface RecordFacts {
  /** The subject DID of a like, repost, block or follow. */
  subject?: string;
  /** Reply parent and root authors. */
  parent?: string;
  root?: string;
  /** The author of the quoted post (embed.record, or the record inside recordWithMedia). */
  quote?: string;
  /** Distinct mentioned DIDs, in facet order. */
  mentions?: string[];
  /** Post text length in graphemes. */
  chars?: number;
  /**
   * The languages a post is written in: the primary subtags of its record's `langs`,
   * lowercase, 2 or 3 letters, distinct, at most 3 (shared/langs.ts); absent when none is
   * valid. Events written before it was kept have none.
   */
  langs?: string[];
  /** An opt-out or opt-in code the post's text carries: "out:CODE" or "in:CODE". */
  opt?: string;
  /** Profile display name and avatar blob CID. */
  displayName?: string;
  avatar?: string;
  /** What a reply needs, only on posts that mention a watched account (see WatchedPost). */
  watched?: WatchedPost;
}

/** A record's address and content hash (com.atproto.repo.strongRef). */
export interface PostRef {
  uri: string;
  cid: string;
}

/** The longest post text a WatchedPost carries, in UTF-16 units (the lexicon allows 3000 bytes). */
export const WATCHED_TEXT_MAX = 3000;

/**
 * The parts of a post that a reply to it needs. The firehose adds them only to posts that
 * mention an account in its watch list (`firehoseKeys.watch`), so every other event stays
 * as small as it was. The post's own URI is `at://{did}/app.bsky.feed.post/{rkey}`.
 */
export interface WatchedPost {
  /** The post's CID. */
  cid: string;
  text: string;
  /** The record's `langs`, as written (at most 3). */
  langs?: string[];
  /** The record's `createdAt`, as written: the author's claim, not the commit time. */
  createdAt?: string;
  /** The thread the post replies in: both or neither. */
  root?: PostRef;
  parent?: PostRef;
}

export interface CommitWriteEvent extends EventBase, RecordFacts {
  kind: "commit";
  action: "create" | "update";
  collection: Collection;
  rkey: string;
}

export interface CommitDeleteEvent extends EventBase {
  kind: "commit";
  action: "delete";
  collection: Collection;
  rkey: string;
}

export interface IdentityEvent extends EventBase {
  kind: "identity";
  /** The new handle, when the event carries a valid one. */
  handle?: string;
}

export interface AccountEvent extends EventBase {
  kind: "account";
  active: boolean;
  /** Why the account is inactive (an unknown status string is passed on as is). */
  status?: string;
}

export type CommitEvent = CommitWriteEvent | CommitDeleteEvent;
export type FirehoseEvent = CommitEvent | IdentityEvent | AccountEvent;

/** Printable ASCII without quote or backslash: can go between quotes as it is. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

function str(value: string): string {
  return PLAIN.test(value) ? `"${value}"` : JSON.stringify(value);
}

/**
 * An event as the JSON of its stream entry's `e` field. Written by hand because this runs
 * for every event of the network; JSON.parse gives back exactly the event.
 */
export function encodeEvent(e: FirehoseEvent): string {
  let s = `{"v":${e.v},"kind":"${e.kind}","seq":${e.seq},"time":${e.time},"did":${str(e.did)}`;
  switch (e.kind) {
    case "commit":
      s += `,"action":"${e.action}","collection":"${e.collection}","rkey":${str(e.rkey)}`;
      if (e.action === "delete") break;
      if (e.subject !== undefined) s += `,"subject":${str(e.subject)}`;
      if (e.parent !== undefined) s += `,"parent":${str(e.parent)}`;
      if (e.root !== undefined) s += `,"root":${str(e.root)}`;
      if (e.quote !== undefined) s += `,"quote":${str(e.quote)}`;
      if (e.mentions !== undefined) s += `,"mentions":[${e.mentions.map(str).join(",")}]`;
      if (e.chars !== undefined) s += `,"chars":${e.chars}`;
      if (e.langs !== undefined) s += `,"langs":[${e.langs.map(str).join(",")}]`;
      if (e.opt !== undefined) s += `,"opt":${str(e.opt)}`;
      if (e.displayName !== undefined) s += `,"displayName":${str(e.displayName)}`;
      if (e.avatar !== undefined) s += `,"avatar":${str(e.avatar)}`;
      // Rare (posts that mention a watched account): the generic path is fast enough.
      if (e.watched !== undefined) s += `,"watched":${JSON.stringify(e.watched)}`;
      break;
    case "identity":
      if (e.handle !== undefined) s += `,"handle":${str(e.handle)}`;
      break;
    case "account":
      s += `,"active":${e.active}`;
      if (e.status !== undefined) s += `,"status":${str(e.status)}`;
      break;
  }
  return s + "}";
}

/** Why a stream entry could not be read as an event. */
export class MalformedEventError extends TypeError {
  override name = "MalformedEventError";
  constructor(readonly reason: string, message: string) {
    super(message);
  }
}

const isStr = (v: unknown): v is string => typeof v === "string" && v.length > 0;
const isNum = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
const isShort = (v: unknown, max: number): v is string => isStr(v) && v.length <= max;

function isPostRef(v: unknown): v is PostRef {
  const r = v as PostRef;
  return v !== null && typeof v === "object" && isShort(r.uri, 8200) && isShort(r.cid, 200);
}

/** The shape and bounds of a WatchedPost (the values' syntax is the reader's to check). */
function isWatchedPost(v: unknown): v is WatchedPost {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return false;
  const w = v as WatchedPost;
  if (!isShort(w.cid, 200) || typeof w.text !== "string" || w.text.length > WATCHED_TEXT_MAX) {
    return false;
  }
  if (
    w.langs !== undefined &&
    (!Array.isArray(w.langs) || w.langs.length > 3 || !w.langs.every((l) => isShort(l, 64)))
  ) return false;
  if (w.createdAt !== undefined && !isShort(w.createdAt, 64)) return false;
  if ((w.root === undefined) !== (w.parent === undefined)) return false;
  return w.root === undefined || (isPostRef(w.root) && isPostRef(w.parent));
}

/**
 * Reads a stream entry's fields (`v`, `e`) back into an event, checking the version and
 * the shape, so a consumer can park what it does not understand.
 */
export function decodeEvent(version: string | undefined, json: string | undefined): FirehoseEvent {
  if (version !== String(EVENT_VERSION)) {
    throw new MalformedEventError("unknown_version", `Unknown event version: "${version}"`);
  }
  if (json === undefined) throw new MalformedEventError("missing_field", "Missing field: e");
  let e: Record<string, unknown>;
  try {
    e = JSON.parse(json);
  } catch {
    throw new MalformedEventError("bad_json", `Cannot parse event: not JSON`);
  }
  if (e === null || typeof e !== "object" || Array.isArray(e)) {
    throw new MalformedEventError("wrong_type", "Cannot parse event: not an object");
  }
  const problem = (field: string) =>
    new MalformedEventError("wrong_type", `Cannot parse event: bad field "${field}"`);
  if (e.v !== EVENT_VERSION) throw problem("v");
  if (!isNum(e.seq)) throw problem("seq");
  if (!isNum(e.time)) throw problem("time");
  if (!isStr(e.did)) throw problem("did");
  switch (e.kind) {
    case "commit":
      if (!isStr(e.collection) || !isKeptCollection(e.collection)) throw problem("collection");
      if (!isStr(e.rkey)) throw problem("rkey");
      if (e.action === "delete") break;
      if (e.action !== "create" && e.action !== "update") throw problem("action");
      for (const f of ["subject", "parent", "root", "quote", "displayName", "avatar", "opt"]) {
        if (e[f] !== undefined && typeof e[f] !== "string") throw problem(f);
      }
      if (e.mentions !== undefined && (!Array.isArray(e.mentions) || !e.mentions.every(isStr))) {
        throw problem("mentions");
      }
      if (e.chars !== undefined && !isNum(e.chars)) throw problem("chars");
      if (e.langs !== undefined && !isPostLanguages(e.langs)) throw problem("langs");
      if (e.watched !== undefined && !isWatchedPost(e.watched)) throw problem("watched");
      break;
    case "identity":
      if (e.handle !== undefined && !isStr(e.handle)) throw problem("handle");
      break;
    case "account":
      if (typeof e.active !== "boolean") throw problem("active");
      if (e.status !== undefined && !isStr(e.status)) throw problem("status");
      break;
    default:
      throw problem("kind");
  }
  return e as unknown as FirehoseEvent;
}
