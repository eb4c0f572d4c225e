/** Firehose events as the apply script's operations (apply_script.ts describes them). */
import type { FirehoseEvent } from "@bsky/shared/events";
import { LANG, languageCode } from "@bsky/shared/langs";
import { BLOCK_MINUTE, HOUR_MS, POST_LANGUAGE, TYPE_CODE } from "./layout.ts";
import { packPairs, recordArg } from "./record_arg.ts";

/** The collections whose record names one subject, and the type it counts as. */
const SUBJECT_TYPES = new Map<string, keyof typeof TYPE_CODE>([
  ["app.bsky.feed.like", "like"],
  ["app.bsky.feed.repost", "repost"],
  ["app.bsky.graph.block", "block"],
  ["app.bsky.graph.follow", "follow"],
]);

/** The DIDs an event needs ids for. */
export function eventDids(e: FirehoseEvent, out: Set<string>): void {
  out.add(e.did);
  if (e.kind !== "commit" || e.action === "delete") return;
  if (e.subject) out.add(e.subject);
  if (e.parent) out.add(e.parent);
  if (e.quote) out.add(e.quote);
  if (e.mentions) { for (const m of e.mentions) out.add(m); }
}

/**
 * The store operations of the events, in order (the apply script's, apply_script.ts);
 * `bySlot` for a Redis Cluster's (their records kept in their authors' slots).
 */
export function eventOps(
  events: readonly FirehoseEvent[],
  ids: Map<string, number>,
  bySlot = false,
): (string | number | Uint8Array)[] {
  const ops: (string | number | Uint8Array)[] = [];
  for (const e of events) {
    const a = ids.get(e.did)!;
    const hour = Math.floor(e.time / HOUR_MS);
    if (e.kind === "identity") {
      ops.push("h", a, e.seq, e.handle ?? "");
      continue;
    }
    if (e.kind === "account") {
      ops.push("s", a, e.seq, e.active ? "1" : "0", e.status ?? "", hour);
      continue;
    }
    if (e.collection === "app.bsky.actor.profile") {
      if (e.action === "delete") ops.push("p", a, e.seq, "", "");
      else ops.push("p", a, e.seq, e.displayName ?? "", e.avatar ?? "");
      continue;
    }
    if (e.action === "delete") {
      ops.push("d", recordArg(a, e.collection, e.rkey, hour, undefined, bySlot));
      continue;
    }
    if (e.opt !== undefined && e.action === "create") ops.push("o", a, e.did, e.opt);
    const pairs: [number, number][] = [];
    const pair = (type: keyof typeof TYPE_CODE, did: string | undefined) => {
      // Self-interactions are not counted.
      if (did !== undefined && did !== e.did) pairs.push([TYPE_CODE[type], ids.get(did)!]);
    };
    const subjectType = SUBJECT_TYPES.get(e.collection);
    if (subjectType) pair(subjectType, e.subject);
    if (e.collection === "app.bsky.graph.block" && pairs.length > 0) {
      // The minute in its hour, for the order of blocks as they stand (not a counterpart).
      pairs.push([BLOCK_MINUTE, Math.floor(e.time / 60_000) % 60]);
    }
    if (e.collection === "app.bsky.feed.post") {
      pair("reply", e.parent);
      pair("quote", e.quote);
      for (const m of e.mentions ?? []) pair("mention", m);
      // Its languages, counted per hour (not counterparts).
      for (const lang of e.langs ?? []) {
        if (LANG.test(lang)) pairs.push([POST_LANGUAGE, languageCode(lang)]);
      }
    }
    // A create that counts nothing needs no memory; an update may take counts back.
    if (e.action === "create" && pairs.length === 0) continue;
    const arg = recordArg(a, e.collection, e.rkey, hour, packPairs(pairs), bySlot);
    ops.push(e.action === "create" ? "c" : "u", arg);
  }
  return ops;
}
