/**
 * Normalizes Jetstream JSON messages into the same events as the relay path. Jetstream
 * does not carry the relay seq or the commit time for commits: its `time_us` serves as
 * both the cursor and the event time there.
 */
import { errorMessage, InvalidInputError } from "@bsky/shared/errors";
import { type FirehoseEvent, keptCollection } from "@bsky/shared/events";
import { isValidDid, isValidRecordKey } from "@bsky/shared/syntax";
import {
  accountEvent,
  deleteEvent,
  identityEvent,
  type Limits,
  type NormalizeStats,
  obj,
  parseTime,
  recordFacts,
  writeEvent,
} from "../normalize.ts";
import { addWatched } from "../watched_post.ts";
import { badMessage, newMessage, type SourceMessage } from "./message.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Normalizes one Jetstream message (already JSON-parsed); returns its cursor (time_us),
 * or undefined when the message is malformed (counted).
 */
export function normalizeJetstream(
  message: unknown,
  out: FirehoseEvent[],
  stats: NormalizeStats,
  limits: Limits,
  /** The raw message length, used as the record size bound. */
  rawLength = 0,
): number | undefined {
  const m = obj(message);
  const cursor = m?.time_us;
  if (!m || typeof cursor !== "number" || !Number.isSafeInteger(cursor)) {
    stats.drop("bad_frame");
    return undefined;
  }
  const did = m.did;
  if (!isValidDid(did)) {
    stats.drop("invalid_did");
    return cursor;
  }
  if (m.kind === "commit") {
    const c = obj(m.commit);
    if (!c || typeof c.collection !== "string" || typeof c.rkey !== "string") {
      stats.drop("bad_frame");
      return cursor;
    }
    const collection = keptCollection(c.collection), rkey = c.rkey;
    if (collection === undefined) {
      stats.ignore(c.collection);
      return cursor;
    }
    if (!isValidRecordKey(rkey)) {
      stats.drop("invalid_path");
      return cursor;
    }
    const time = Math.floor(cursor / 1000);
    if (c.operation === "delete") {
      out.push(deleteEvent(cursor, time, did, collection, rkey));
    } else if (c.operation === "create" || c.operation === "update") {
      // JSON is larger than DAG-CBOR, so only measure exactly when the message is suspicious.
      if (
        rawLength > limits.maxRecordBytes &&
        encoder.encode(JSON.stringify(c.record)).length > limits.maxRecordBytes
      ) {
        stats.drop("record_too_large");
        return cursor;
      }
      try {
        const facts = recordFacts(collection, rkey, c.record, limits);
        addWatched(facts, limits, () => c.record, () => c.cid);
        out.push(writeEvent(cursor, time, did, c.operation, collection, rkey, facts));
      } catch (err) {
        if (!(err instanceof InvalidInputError)) throw err;
        stats.drop(err.reason);
      }
    } else {
      stats.drop("unknown_action");
    }
    return cursor;
  }
  if (m.kind === "identity" || m.kind === "account") {
    const body = obj(m[m.kind]);
    const seq = body?.seq;
    const time = parseTime(body?.time);
    if (!body || typeof seq !== "number" || time === undefined) {
      stats.drop("bad_frame");
      return cursor;
    }
    if (m.kind === "identity") out.push(identityEvent(seq, time, did, body.handle, stats));
    else if (typeof body.active !== "boolean") stats.drop("bad_frame");
    else out.push(accountEvent(seq, time, did, body.active, body.status));
    return cursor;
  }
  stats.ignore(String(m.kind).slice(0, 32));
  return cursor;
}

/**
 * Reads one Jetstream message: parses and normalizes it, and says what the counters need of
 * it. A replay (its cursor at or below `after`) keeps its drops and ignored ops, not its
 * events. Never throws.
 */
export function readJetstream(
  message: Uint8Array | string,
  limits: Limits,
  after: number | undefined,
): SourceMessage {
  const text = typeof message === "string" ? message : decoder.decode(message);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return badMessage(
      "json",
      text.length,
      `Cannot parse a Jetstream message: ${errorMessage(err)}`,
    );
  }
  const [m, stats] = newMessage("json", text.length);
  const j = obj(parsed);
  if (j?.kind === "commit" && typeof j.time_us === "number" && typeof j.did === "string") {
    m.repo = j.did;
    m.time = Math.floor(j.time_us / 1000);
  }
  const cursor = normalizeJetstream(parsed, m.events, stats, limits, text.length);
  if (cursor === undefined) m.error = "A Jetstream message must be an object with a time_us cursor";
  else if (after !== undefined && cursor <= after) m.events.length = 0;
  else m.seq = cursor;
  return m;
}
