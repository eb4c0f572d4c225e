/** Normalizes relay frames (com.atproto.sync.subscribeRepos) into firehose events. */
import { errorMessage, InvalidInputError } from "@bsky/shared/errors";
import { type FirehoseEvent, keptCollection } from "@bsky/shared/events";
import { isValidDid, isValidRecordKey } from "@bsky/shared/syntax";
import { CidLinkWrapper } from "@atcute/cbor";
import {
  type CommitBody,
  decodeFrame,
  decodeRecord,
  decodeRecordOf,
  findBlocks,
  type Frame,
} from "../frame.ts";
import {
  accountEvent,
  deleteEvent,
  identityEvent,
  type Limits,
  type NormalizeStats,
  parseTime,
  recordFacts,
  splitPath,
  writeEvent,
} from "../normalize.ts";
import { addWatched } from "../watched_post.ts";
import { badMessage, newMessage, type SourceMessage } from "./message.ts";

/** What one frame meant for the subscription, besides the events it added. */
export type FrameOutcome =
  | { kind: "events"; seq: number; frameType: string }
  | { kind: "info"; name: string; message?: string }
  | { kind: "error"; error: string; message?: string }
  | { kind: "bad"; reason: string };

function normalizeCommit(
  body: CommitBody,
  out: FirehoseEvent[],
  stats: NormalizeStats,
  limits: Limits,
): void {
  const { seq, repo } = body;
  if (!isValidDid(repo)) return stats.drop("invalid_did");
  const time = parseTime(body.time);
  if (time === undefined) return stats.drop("invalid_time");
  type Wanted = {
    collection: Parameters<typeof writeEvent>[4];
    rkey: string;
    action: "create" | "update";
    cid: Uint8Array;
  };
  const wanted: Wanted[] = [];
  for (const op of body.ops) {
    const parts = splitPath(op?.path);
    if (!parts) {
      stats.drop("invalid_path");
      continue;
    }
    const collection = keptCollection(parts[0]), rkey = parts[1];
    if (collection === undefined) {
      stats.ignore(parts[0]);
      continue;
    }
    if (!isValidRecordKey(rkey)) {
      stats.drop("invalid_path");
      continue;
    }
    if (op.action === "delete") {
      out.push(deleteEvent(seq, time, repo, collection, rkey));
    } else if (op.action === "create" || op.action === "update") {
      if (!(op.cid?.bytes instanceof Uint8Array)) {
        stats.drop("missing_block");
        continue;
      }
      wanted.push({
        collection,
        rkey,
        action: op.action,
        cid: op.cid.bytes,
      });
    } else {
      stats.drop("unknown_action");
    }
  }
  if (wanted.length === 0) return;
  let blocks: (Uint8Array | undefined)[];
  try {
    blocks = findBlocks(body.blocks, wanted.map((w) => w.cid));
  } catch (err) {
    for (const _ of wanted) stats.drop((err as InvalidInputError).reason ?? "bad_car");
    return;
  }
  for (let i = 0; i < wanted.length; i++) {
    const w = wanted[i];
    const block = blocks[i];
    if (!block) {
      stats.drop("missing_block");
      continue;
    }
    if (block.length > limits.maxRecordBytes) {
      stats.drop("record_too_large");
      continue;
    }
    try {
      const facts = recordFacts(w.collection, w.rkey, decodeRecordOf(w.collection, block), limits);
      addWatched(facts, limits, () => decodeRecord(block), () => new CidLinkWrapper(w.cid).$link);
      out.push(writeEvent(seq, time, repo, w.action, w.collection, w.rkey, facts));
    } catch (err) {
      if (!(err instanceof InvalidInputError)) throw err;
      stats.drop(err.reason);
    }
  }
}

/**
 * Normalizes one decoded frame, appending its events to `out`. Never throws: a frame that
 * breaks an assumption of ours is dropped whole and counted as "unexpected".
 */
export function normalizeDecodedFrame(
  frame: Frame,
  out: FirehoseEvent[],
  stats: NormalizeStats,
  limits: Limits,
): FrameOutcome {
  const before = out.length;
  try {
    return normalizeUnsafe(frame, out, stats, limits);
  } catch {
    out.length = before;
    stats.drop("unexpected");
    return { kind: "bad", reason: "unexpected" };
  }
}

function normalizeUnsafe(
  frame: Frame,
  out: FirehoseEvent[],
  stats: NormalizeStats,
  limits: Limits,
): FrameOutcome {
  switch (frame.type) {
    case "#commit":
      normalizeCommit(frame.body, out, stats, limits);
      return { kind: "events", seq: frame.body.seq, frameType: "commit" };
    case "#identity":
    case "#account": {
      const b = frame.body;
      const time = parseTime(b.time);
      if (!isValidDid(b.did)) stats.drop("invalid_did");
      else if (time === undefined) stats.drop("invalid_time");
      else if (frame.type === "#identity") {
        out.push(identityEvent(b.seq, time, b.did, frame.body.handle, stats));
      } else {
        out.push(accountEvent(b.seq, time, b.did, frame.body.active, frame.body.status));
      }
      return { kind: "events", seq: b.seq, frameType: frame.type.slice(1) };
    }
    case "#info":
      return { kind: "info", name: frame.body.name, message: frame.body.message };
    case "error":
      return { kind: "error", error: frame.body.error, message: frame.body.message };
    case "other":
      stats.ignore(frame.t);
      return { kind: "events", seq: frame.body.seq ?? -1, frameType: "other" };
  }
}

/** Decodes and normalizes one raw frame; a malformed frame is counted, never thrown. */
export function normalizeFrame(
  bytes: Uint8Array,
  out: FirehoseEvent[],
  stats: NormalizeStats,
  limits: Limits,
): FrameOutcome {
  let frame: Frame;
  try {
    frame = decodeFrame(bytes);
  } catch (err) {
    const reason = err instanceof InvalidInputError ? err.reason : "bad_frame";
    stats.drop(reason);
    return { kind: "bad", reason };
  }
  return normalizeDecodedFrame(frame, out, stats, limits);
}

/**
 * Reads one relay message: decodes the frame, normalizes it unless it is a replay (its seq
 * at or below `after`), and says what the counters need of it. Never throws.
 */
export function readRelay(
  message: Uint8Array | string,
  limits: Limits,
  after: number | undefined,
): SourceMessage {
  if (typeof message === "string") {
    return badMessage("text", 0, "A relay frame must be binary, not a text message");
  }
  const bytes = message;
  let frame: Frame;
  try {
    frame = decodeFrame(bytes);
  } catch (err) {
    return badMessage("malformed", bytes.length, errorMessage(err));
  }
  const [m, stats] = newMessage(
    frame.type === "other" ? frame.t.slice(0, 32) : frame.type,
    bytes.length,
  );
  if (frame.type !== "#info" && frame.type !== "error") {
    const seq = frame.body.seq;
    if (seq !== undefined && after !== undefined && seq <= after) return m;
  }
  const outcome = normalizeDecodedFrame(frame, m.events, stats, limits);
  if (outcome.kind === "info") {
    m.notice = { kind: "info", name: outcome.name, message: outcome.message };
  } else if (outcome.kind === "error") {
    m.notice = { kind: "error", name: outcome.error, message: outcome.message };
  } else if (outcome.kind === "events" && outcome.seq >= 0) {
    m.seq = outcome.seq;
  }
  if (frame.type === "#commit") {
    m.repo = frame.body.repo;
    m.created = m.seq !== undefined && frame.body.since === null;
    // Only ops of other collections and new accounts need the time: parse it for them alone.
    if (m.created || m.ignored.length > 0) m.time = parseTime(frame.body.time);
  }
  return m;
}
