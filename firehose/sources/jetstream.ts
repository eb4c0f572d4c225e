/**
 * Normalizes Jetstream JSON messages into the same events as the relay path. Jetstream
 * does not carry the relay seq or the commit time for commits: its `time_us` serves as
 * both the cursor and the event time there.
 */
import { InvalidInputError } from "@bsky/shared/errors";
import { type FirehoseEvent, isKeptCollection } from "@bsky/shared/events";
import { isValidDid, isValidRecordKey } from "@bsky/shared/syntax";
import {
  accountEvent,
  addWatched,
  deleteEvent,
  identityEvent,
  type Limits,
  type NormalizeStats,
  parseTime,
  recordFacts,
  writeEvent,
} from "./normalize.ts";

function obj(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === "object" && !Array.isArray(v)
    ? v as Record<string, unknown>
    : undefined;
}

const encoder = new TextEncoder();

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
    const { collection, rkey } = c;
    if (!isKeptCollection(collection)) {
      stats.ignore(collection);
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
