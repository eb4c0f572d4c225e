/** Firehose events for tests that write the store directly. */
import type { FirehoseEvent } from "../events.ts";

let seq = 0;

/** The next seq: increasing across every caller in the process, as a relay's are. */
export function nextSeq(): number {
  return ++seq;
}

/** A record created by `did` at `time`, with the facts the indexer reads. */
export function created(
  did: string,
  collection: string,
  rkey: string,
  facts: object,
  time: number,
): FirehoseEvent {
  return {
    v: 1,
    kind: "commit",
    seq: nextSeq(),
    time,
    did,
    action: "create",
    collection,
    rkey,
    ...facts,
  } as FirehoseEvent;
}

/** An #identity event: `did` has `handle` from `time`. */
export function identity(did: string, handle: string, time: number): FirehoseEvent {
  return { v: 1, kind: "identity", seq: nextSeq(), time, did, handle };
}
