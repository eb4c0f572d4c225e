/**
 * Turns a record of a kept collection into the facts the indexer needs. Shared by the
 * relay and Jetstream paths so both give identical events for the same data.
 */
import { InvalidInputError } from "@bsky/shared/errors";
import {
  type AccountEvent,
  type Collection,
  type CommitDeleteEvent,
  type CommitWriteEvent,
  EVENT_VERSION,
  type IdentityEvent,
  type RecordFacts,
} from "@bsky/shared/events";
import { postLanguages } from "@bsky/shared/langs";
import { findOptCode } from "@bsky/shared/optout";
import { isValidDid, isValidHandle, parseAtUri } from "@bsky/shared/syntax";

export interface Limits {
  /** Records larger than this (encoded bytes) are dropped. */
  maxRecordBytes: number;
  /** Posts mentioning more distinct accounts than this are dropped as abusive. */
  maxMentions: number;
  /**
   * Accounts whose mentions carry what a reply needs (shared/watch.ts). Replaced whole
   * when the list changes, never changed in place.
   */
  watch?: ReadonlySet<string>;
}

export const DEFAULT_LIMITS: Limits = { maxRecordBytes: 64 * 1024, maxMentions: 50 };

/** The longest display name kept (the lexicon's limit is 64 graphemes, 640 bytes). */
const MAX_DISPLAY_NAME = 640;
export const POST = "app.bsky.feed.post";
/** A CID as a string (base32 CIDv1). */
export const CID = /^b[a-z2-7]{50,120}$/;

const invalid = (reason: string, message: string) => new InvalidInputError(reason, message);

/** `v` when it is a plain object (not null, not an array), else undefined. */
export function obj(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === "object" && !Array.isArray(v)
    ? v as Record<string, unknown>
    : undefined;
}

/** The author DID of a post URI, or undefined when the URI points at something else. */
function postAuthor(uri: unknown, field: string): string | undefined {
  const parsed = parseAtUri(uri);
  if (!parsed || !isValidDid(parsed.authority) || !parsed.rkey) {
    throw invalid("invalid_uri", `Invalid ${field}: ${JSON.stringify(uri)?.slice(0, 200)}`);
  }
  return parsed.collection === POST ? parsed.authority : undefined;
}

function subjectDid(v: unknown): string {
  if (!isValidDid(v)) {
    throw invalid("invalid_did", `Invalid subject DID: ${String(v).slice(0, 200)}`);
  }
  return v;
}

let segmenter: Intl.Segmenter | undefined;

/**
 * Characters that can join a neighbour into one grapheme cluster (UAX #29): CR, marks,
 * ZWJ/ZWNJ, Hangul jamo, prepended concatenation marks, the two spacing marks outside
 * \p{M}, halfwidth sound marks, and every astral character (emoji, regional indicators,
 * modifiers, tags) which also counts two UTF-16 units. Text without them has exactly one
 * grapheme per UTF-16 unit, which is by far the common case and skips the segmenter.
 */
const MAY_CLUSTER =
  /[\r\p{M}\u200c\u200d\u1100-\u11ff\ua960-\ua97f\ud7b0-\ud7ff\u0600-\u0605\u06dd\u070f\u0890\u0891\u08e2\u0d4e\u0e33\u0eb3\uff9e\uff9f\ud800-\udfff\u{10000}-\u{10ffff}]/u;

/** Length in user-perceived characters (extended grapheme clusters). */
export function graphemeLength(text: string): number {
  if (!MAY_CLUSTER.test(text)) return text.length;
  segmenter ??= new Intl.Segmenter(undefined, { granularity: "grapheme" });
  let n = 0;
  for (const _ of segmenter.segment(text)) n++;
  return n;
}

function blobCid(blob: unknown): string | undefined {
  const b = obj(blob);
  if (!b) return undefined;
  const ref = obj(b.ref);
  const link = ref?.$link ?? b.cid; // `cid` is the legacy blob shape
  return typeof link === "string" && CID.test(link) ? link : undefined;
}

function postFacts(record: Record<string, unknown>, limits: Limits): RecordFacts {
  const facts: RecordFacts = {};
  if (typeof record.text !== "string") throw invalid("invalid_record", "Post without text");
  facts.chars = graphemeLength(record.text);
  const langs = postLanguages(record.langs);
  if (langs) facts.langs = langs;
  const opt = findOptCode(record.text);
  if (opt) facts.opt = opt;
  const reply = obj(record.reply);
  if (reply) {
    const parent = postAuthor(obj(reply.parent)?.uri, "reply parent");
    const root = postAuthor(obj(reply.root)?.uri, "reply root");
    if (!parent || !root) throw invalid("invalid_uri", "Reply to something that is not a post");
    facts.parent = parent;
    facts.root = root;
  }
  const embed = obj(record.embed);
  if (embed) {
    const inner = embed.$type === "app.bsky.embed.record"
      ? obj(embed.record)
      : embed.$type === "app.bsky.embed.recordWithMedia"
      ? obj(obj(embed.record)?.record)
      : undefined;
    if (inner) {
      const quoted = postAuthor(inner.uri, "quoted URI");
      if (quoted) facts.quote = quoted;
    }
  }
  if (Array.isArray(record.facets)) {
    const mentions: string[] = [];
    for (const facet of record.facets) {
      const features = obj(facet)?.features;
      if (!Array.isArray(features)) continue;
      for (const feature of features) {
        const f = obj(feature);
        if (f?.$type !== "app.bsky.richtext.facet#mention") continue;
        if (!isValidDid(f.did)) {
          throw invalid("invalid_did", `Invalid mention DID: ${String(f.did).slice(0, 200)}`);
        }
        if (!mentions.includes(f.did)) mentions.push(f.did);
      }
    }
    if (mentions.length > limits.maxMentions) {
      throw invalid("too_many_mentions", `Post mentions ${mentions.length} accounts`);
    }
    if (mentions.length > 0) facts.mentions = mentions;
  }
  return facts;
}

/**
 * The facts of one created or updated record. Throws InvalidInputError with a stable
 * `reason` when the record must be dropped.
 */
export function recordFacts(
  collection: Collection,
  rkey: string,
  record: unknown,
  limits: Limits = DEFAULT_LIMITS,
): RecordFacts {
  const r = obj(record);
  if (!r) throw invalid("invalid_record", "Record is not an object");
  if (r.$type !== collection) {
    throw invalid(
      "invalid_record",
      `Record type ${String(r.$type).slice(0, 100)} in ${collection}`,
    );
  }
  switch (collection) {
    case "app.bsky.feed.like":
    case "app.bsky.feed.repost": {
      const author = postAuthor(obj(r.subject)?.uri, "subject URI");
      if (!author) throw invalid("subject_not_post", "Subject is not a post");
      return { subject: author };
    }
    case "app.bsky.graph.block":
    case "app.bsky.graph.follow":
      return { subject: subjectDid(r.subject) };
    case "app.bsky.feed.post":
      return postFacts(r, limits);
    case "app.bsky.actor.profile": {
      if (rkey !== "self") throw invalid("invalid_record", `Profile record key "${rkey}"`);
      const facts: RecordFacts = {};
      if (typeof r.displayName === "string") {
        facts.displayName = r.displayName.slice(0, MAX_DISPLAY_NAME);
      }
      const avatar = blobCid(r.avatar);
      if (avatar) facts.avatar = avatar;
      return facts;
    }
  }
}

/** Counts what normalization drops or ignores; metrics in the service, plain maps in tests. */
export interface NormalizeStats {
  drop(reason: string): void;
  ignore(collection: string): void;
}

/** Splits a repo path into collection and rkey; undefined when malformed. */
export function splitPath(path: unknown): [string, string] | undefined {
  if (typeof path !== "string") return undefined;
  const slash = path.indexOf("/");
  if (slash <= 0 || slash !== path.lastIndexOf("/")) return undefined;
  return [path.slice(0, slash), path.slice(slash + 1)];
}

/** One event per op, built in one field order so that both sources serialize identically. */
export function writeEvent(
  seq: number,
  time: number,
  did: string,
  action: "create" | "update",
  collection: Collection,
  rkey: string,
  facts: RecordFacts,
): CommitWriteEvent {
  return { v: EVENT_VERSION, kind: "commit", seq, time, did, action, collection, rkey, ...facts };
}

export function deleteEvent(
  seq: number,
  time: number,
  did: string,
  collection: Collection,
  rkey: string,
): CommitDeleteEvent {
  return { v: EVENT_VERSION, kind: "commit", seq, time, did, action: "delete", collection, rkey };
}

export function identityEvent(
  seq: number,
  time: number,
  did: string,
  handle: unknown,
  stats: NormalizeStats,
): IdentityEvent {
  const event: IdentityEvent = { v: EVENT_VERSION, kind: "identity", seq, time, did };
  if (handle !== undefined && handle !== null) {
    // An identity event still means "re-resolve this account", so a bad handle only loses the handle.
    if (isValidHandle(handle)) event.handle = handle.toLowerCase();
    else stats.drop("invalid_handle");
  }
  return event;
}

export function accountEvent(
  seq: number,
  time: number,
  did: string,
  active: boolean,
  status: unknown,
): AccountEvent {
  const event: AccountEvent = { v: EVENT_VERSION, kind: "account", seq, time, did, active };
  if (typeof status === "string" && status.length > 0) event.status = status.slice(0, 64);
  return event;
}

/** Milliseconds since the epoch of an RFC 3339 timestamp, or undefined. */
export function parseTime(value: unknown): number | undefined {
  if (typeof value !== "string") return undefined;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : undefined;
}
