/**
 * The store's key names (the layout is described in layout.ts): each spelled once, in
 * KEY_NAMES, built by storeKeys in TypeScript and given to the scripts as `K` (lua.ts),
 * and read back by keyPrefix() and keyValues().
 */

/** Ids per hash of the reverse map. */
export const ID_BUCKET = 128;

/**
 * Every key name of the store and the indexer, spelled once: `<name>` marks a value. The
 * text between values never holds one (a value is never empty and has no `:`, `{` or `}`).
 * `idToDid`'s value is the id's bucket, id / ID_BUCKET rounded down.
 */
export const KEY_NAMES = {
  log: "l:{<id>}:<week>",
  digest: "dg:{<id>}:<week>",
  rollUpLock: "ru:{<id>}:<week>:lock",
  logStaging: "ru:{<id>}:<week>:log:<run>",
  digestStaging: "ru:{<id>}:<week>:dg:<run>",
  digestRetired: "ru:{<id>}:<week>:old:<run>",
  records: "r:{<bucket>}:<span>",
  slotRecords: "r:{<tag>}:<span>:<bucket>",
  recordBuckets: "rb:{g}",
  graph: "g:{<id>}",
  blocking: "bo:{<id>}",
  blockedBy: "bi:{<id>}",
  blocksEnding: "be:{g}",
  languagePosts: "lp:{g}:<hour>",
  profile: "p:{<id>}",
  handles: "hx:{g}",
  hidden: "hidden:{g}",
  optCode: "oc:{g}:<code>",
  didToId: "ids:{ids}:did",
  idToDid: "ids:{ids}:r:<bucket>",
  nextId: "ids:{ids}:next",
  freeIds: "ids:{ids}:free",
  idEpoch: "ids:{ids}:epoch",
  retiringIds: "ids:{ids}:retiring",
  pendingIds: "ids:{ids}:pending",
  goneIds: "ids:{ids}:gone",
  posterIds: "ids:{ids}:posters",
  posterIdsNext: "ids:{ids}:posters:next",
  retractedIds: "ids:{ids}:retracted",
  idFence: "ids:{ids}:fence",
  idWriters: "ids:{ids}:writers",
  retiringCopy: "rc:{<tag>}",
  retiringCopyNext: "rc:{<tag>}:next",
  lease: "idx:{firehose}:lease:<partition>",
  parked: "idx:{firehose}:parked",
  settings: "settings:{g}",
  slotWatermarks: "sw:{<tag>}",
  slotProbe: "sw:{<tag>}:probe",
  tombstones: "bt:{g}:<hour>",
  slotTombstones: "bt:{<tag>}:<hour>",
  backfillActive: "bf:{g}:active",
  backfillLive: "bf:{g}:live",
  backfillHost: "bf:{g}:host:<host>",
  backfillRepos: "bf:{g}:repos:<host>",
  slotBackfillRepos: "bf:{<tag>}:repos:<host>",
  backfillFailed: "bf:{g}:failed:<host>",
} as const;
export type KeyName = keyof typeof KEY_NAMES;

/**
 * The DID ↔ id interning and the reclaiming of its ids: every account interned has its
 * part of them, active or not.
 */
export const INTERNING_KEYS = [
  "didToId",
  "idToDid",
  "nextId",
  "freeIds",
  "idEpoch",
  "retiringIds",
  "pendingIds",
  "goneIds",
  "posterIds",
  "posterIdsNext",
  "retractedIds",
  "idFence",
  "idWriters",
] as const satisfies readonly KeyName[];

/** A value in a key template; its name is the first group. */
export const KEY_VALUE = /<(\w+)>/g;

/** The values a key template takes, in order. */
type Values<T extends string> = T extends `${string}<${string}>${infer Rest}`
  ? [string | number, ...Values<Rest>]
  : [];

/** A function that fills a key template's values in, in order. */
function keyOf<T extends string>(template: T): (...values: Values<T>) => string {
  const parts = template.split(/<\w+>/);
  // Only the template's values count: passed to map(), a key function gets more arguments.
  return ((...values: (string | number)[]) => {
    let key = parts[0];
    for (let i = 1; i < parts.length; i++) key += values[i - 1] + parts[i];
    return key;
  }) as (...values: Values<T>) => string;
}

const idBucketKey = keyOf(KEY_NAMES.idToDid);

/** The store's keys; a `*` in a value makes a SCAN pattern. */
export const storeKeys = {
  log: keyOf(KEY_NAMES.log),
  /** A heavy account's day digests of a week (digest.ts). */
  digest: keyOf(KEY_NAMES.digest),
  /**
   * A roll-up of a large log in steps (rollup.ts): the token of the run under way, taken
   * before the log is read; its staged log and digest, in the account's slot, expiring;
   * and where the digest it replaced waits to be unlinked.
   */
  rollUpLock: keyOf(KEY_NAMES.rollUpLock),
  logStaging: keyOf(KEY_NAMES.logStaging),
  digestStaging: keyOf(KEY_NAMES.digestStaging),
  digestRetired: keyOf(KEY_NAMES.digestRetired),
  records: keyOf(KEY_NAMES.records),
  /** On a Redis Cluster, the record memory's buckets of a slot (tag) in a span. */
  slotRecords: keyOf(KEY_NAMES.slotRecords),
  recordBuckets: KEY_NAMES.recordBuckets,
  graph: keyOf(KEY_NAMES.graph),
  /** An account's block records: whom it blocks, by hour (see the layout above). */
  blocking: keyOf(KEY_NAMES.blocking),
  /** Who blocks an account, by hour. */
  blockedBy: keyOf(KEY_NAMES.blockedBy),
  /** Deleted accounts whose blocks are not all ended yet (end_blocks.lua). */
  blocksEnding: KEY_NAMES.blocksEnding,
  /** Posts by language and account made in an hour (absolute). */
  languagePosts: keyOf(KEY_NAMES.languagePosts),
  profile: keyOf(KEY_NAMES.profile),
  handles: KEY_NAMES.handles,
  hidden: KEY_NAMES.hidden,
  optCode: keyOf(KEY_NAMES.optCode),
  didToId: KEY_NAMES.didToId,
  /** The reverse map's hash holding `id`; the field is id % ID_BUCKET. */
  idToDid: (id: number) => idBucketKey(Math.floor(id / ID_BUCKET)),
  nextId: KEY_NAMES.nextId,
  /** Reclaimed ids, given again oldest first (retention.ts reclaims them). */
  freeIds: KEY_NAMES.freeIds,
  /** Moves on whenever ids are reclaimed: ids read at an older epoch may be stale. */
  idEpoch: KEY_NAMES.idEpoch,
  /** Ids of idle accounts waiting a sweep before they are reclaimed, and their negations. */
  retiringIds: KEY_NAMES.retiringIds,
  /** Idle accounts' ids the running sweep found, to retire when it ends. */
  pendingIds: KEY_NAMES.pendingIds,
  /**
   * Deleted accounts the sweep let go (out of their blockers' lists, their profile a mark
   * of the deletion) whose ids wait to be reclaimed, scored by the hour a graph set last
   * named them: graph sets that still name them drop them rather than keep the id.
   */
  goneIds: KEY_NAMES.goneIds,
  /** Ids with posts by language in the hours still kept, a bit each (posters.ts). */
  posterIds: KEY_NAMES.posterIds,
  /** Where the next `posterIds` is written before it takes that name. */
  posterIdsNext: KEY_NAMES.posterIdsNext,
  /**
   * On a Redis Cluster, ids whose DID's mapping went at a sweep (their accounts idle), freed
   * at the next one with whatever a late writer left under them (reclaim.ts).
   */
  retractedIds: KEY_NAMES.retractedIds,
  /**
   * On a Redis Cluster, the fence raised while ids are reclaimed (a token, expiring), and
   * the writers (an indexer's partition, a backfill's host) that read ids and have not
   * written all of it yet: writer → holder (reclaim.ts).
   */
  idFence: KEY_NAMES.idFence,
  idWriters: KEY_NAMES.idWriters,
  /**
   * On a Redis Cluster, a master's copy of the retiring ids, in one of its slots (`tag`,
   * slotTag()), for the graph sets it serves to be checked against there (reclaim.ts).
   */
  retiringCopy: keyOf(KEY_NAMES.retiringCopy),
  /** Where a copy is written before it takes its name (a copy is never seen in part). */
  retiringCopyNext: keyOf(KEY_NAMES.retiringCopyNext),
  /** The lease of a stream partition: which indexer may apply its entries. */
  lease: keyOf(KEY_NAMES.lease),
  parked: KEY_NAMES.parked,
  /** What the indexer keeps (retentionDays, recordMemoryHours), written when it starts. */
  settings: KEY_NAMES.settings,
  /**
   * A hash slot's watermarks: per stream partition, its last entry whose writes the slot
   * holds (slot_writes.ts); `tag` is the slot's own hash tag (slotTag()).
   */
  slotWatermarks: keyOf(KEY_NAMES.slotWatermarks),
  /** Never written: asked for, it tells whether a node serves the whole slot now. */
  slotProbe: keyOf(KEY_NAMES.slotProbe),
  /** Live deletes (that hour) of records the memory lacks, while a backfill runs. */
  tombstones: keyOf(KEY_NAMES.tombstones),
  /**
   * On a Redis Cluster, live deletes (that hour) of records the memory lacks, in their
   * authors' slot (`tag`): kept whether a backfill runs or not.
   */
  slotTombstones: keyOf(KEY_NAMES.slotTombstones),
  /** The running backfills: each run's token, scored by when its hold ends (s). */
  backfillActive: KEY_NAMES.backfillActive,
  /** When the platform started reading the live stream (ms): the backfill's boundary. */
  backfillLive: KEY_NAMES.backfillLive,
  /** A source host's backfill: its listRepos cursor, counts and state (see backfillHostName). */
  backfillHost: keyOf(KEY_NAMES.backfillHost),
  /** How far each repository of the host's pages in progress was loaded. */
  backfillRepos: keyOf(KEY_NAMES.backfillRepos),
  /** On a Redis Cluster, the same, for the repositories of accounts in one slot (`tag`). */
  slotBackfillRepos: keyOf(KEY_NAMES.slotBackfillRepos),
  /** The host's repositories that failed, with their attempts and when to retry. */
  backfillFailed: keyOf(KEY_NAMES.backfillFailed),
};

/** A source host as a key value: its host:port lowercase, any but [a-z0-9.-] as "-". */
export function backfillHostName(url: string): string {
  return new URL(url).host.toLowerCase().replace(/[^a-z0-9.-]/g, "-");
}

/** The start of every key of kind `name`: its name up to the first value. */
export function keyPrefix(name: KeyName): string {
  const template: string = KEY_NAMES[name];
  const at = template.indexOf("<");
  return at < 0 ? template : template.slice(0, at);
}

const patterns = new Map<KeyName, RegExp>();

/**
 * The values of `key` when it is a key of kind `name` (as strings, in order), or
 * undefined when it is not one.
 */
export function keyValues(name: KeyName, key: string): string[] | undefined {
  let pattern = patterns.get(name);
  if (!pattern) {
    const literal = KEY_NAMES[name].split(KEY_VALUE).map((part, k) =>
      k % 2 ? "([^:{}]+)" : part.replace(/[{}]/g, "\\$&")
    );
    pattern = new RegExp(`^${literal.join("")}$`);
    patterns.set(name, pattern);
  }
  return pattern.exec(key)?.slice(1);
}
