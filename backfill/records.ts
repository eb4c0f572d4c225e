/**
 * A repository's record as the event the live stream would have carried for its creation,
 * through the firehose's own normalization (the same record shapes, facts and checks), and
 * the instant it counts at.
 *
 * The time rule: a record counts at its `createdAt` when that is a valid RFC 3339 date
 * from 2000 on and not in the future (5 minutes of clock skew allowed), else at the time of
 * its record key when that is a TID; either way never later than now. A record with neither
 * has no time: it is loaded only as a follow or a block (as made at the epoch), never as an
 * interaction.
 */
import type { Collection, CommitWriteEvent } from "@bsky/shared/events";
import { InvalidInputError } from "@bsky/shared/errors";
import { RECORD_SHAPES } from "@bsky/firehose/frame";
import { DEFAULT_LIMITS, type Limits, recordFacts, writeEvent } from "@bsky/firehose/normalize";
import { project, type Shape } from "@bsky/firehose/projection";

/** The firehose's shape of each collection, with `createdAt` besides. */
const SHAPES = Object.fromEntries(
  Object.entries(RECORD_SHAPES).map(([c, shape]): [string, Shape] => [
    c,
    { ...(shape as { readonly [key: string]: Shape }), createdAt: 1 },
  ]),
) as Record<Collection, Shape>;

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/i;
const EARLIEST = Date.UTC(2000, 0, 1);
const SKEW_MS = 5 * 60_000;

const S32 = "234567abcdefghijklmnopqrstuvwxyz";

/** The time (ms) a TID record key was made at, or undefined when the key is not a TID. */
export function tidTime(rkey: string): number | undefined {
  if (rkey.length !== 13) return undefined;
  let hi = 0, lo = 0;
  for (let i = 0; i < 13; i++) {
    const v = S32.indexOf(rkey[i]);
    if (v < 0 || (i === 0 && v >= 16)) return undefined;
    hi = hi * 32 + (lo >>> 27);
    lo = ((lo << 5) | v) >>> 0;
  }
  // 53 bits of microseconds, then 10 bits of clock id.
  return Math.floor((hi * 2 ** 22 + Math.floor(lo / 1024)) / 1000);
}

/** The instant a record counts at (see the module's rule), or undefined when it has none. */
export function countingTime(createdAt: unknown, rkey: string, now: number): number | undefined {
  const valid = (t: number | undefined) =>
    t !== undefined && Number.isFinite(t) && t >= EARLIEST && t <= now + SKEW_MS;
  let t = typeof createdAt === "string" && RFC3339.test(createdAt)
    ? Date.parse(createdAt)
    : undefined;
  if (!valid(t)) t = tidTime(rkey);
  if (!valid(t)) return undefined;
  return Math.min(t!, now);
}

/** A record as its creation's event, or why the firehose would have dropped it. */
export type RecordResult =
  | { event: CommitWriteEvent; time: number | undefined }
  | { drop: string };

/**
 * The create event of `did`'s record (seq 0; `time` the counting time, or 0 when it has
 * none), as the firehose's normalization makes it from the same bytes.
 */
export function recordEvent(
  did: string,
  collection: Collection,
  rkey: string,
  block: Uint8Array,
  now: number,
  limits: Limits = DEFAULT_LIMITS,
): RecordResult {
  if (block.length > limits.maxRecordBytes) return { drop: "record_too_large" };
  let value: Record<string, unknown>;
  try {
    value = project(block, SHAPES[collection]) as Record<string, unknown>;
  } catch {
    return { drop: "bad_record" };
  }
  try {
    const facts = recordFacts(collection, rkey, value, limits);
    const time = countingTime(value?.createdAt, rkey, now);
    return { event: writeEvent(0, time ?? 0, did, "create", collection, rkey, facts), time };
  } catch (err) {
    if (err instanceof InvalidInputError) return { drop: err.reason };
    throw err;
  }
}
