/**
 * The interaction store's layout, shared by the writer (apply.ts, scripts/apply.lua), the
 * readers (queries.ts), the roll-up (rollup.ts) and the retention (retention.ts). DIDs are
 * interned to integer ids; every per-user key carries the user's id as its hash tag.
 *
 * - `l:{A}:<week>` strings: the log of what A sent and received in that week (weeks counted
 *   from the epoch, 168 hours each), 5 bytes an entry, one 40-bit big-endian number:
 *   counterpart id * 4096 + received * 2048 + undo * 1024 + (type - 1) * 168 + hour of
 *   the week. Types 1-5 are interactions, 6 a block; "undo" marks an entry that takes one
 *   back (a delete). Appending is the cheapest write Redis has; an interaction costs 5
 *   bytes in each of its two accounts' logs, and one key per account and week keeps the
 *   per-key overhead small. Any window of whole hours from 1 h to the retention is
 *   answered exactly. The roll-up (rollup.ts) drops entries that cancel out and the
 *   strings' growth slack.
 * - `dg:{A}:<week>` hash: the day digests of a heavy account's log of that week (one that
 *   holds at least DIGEST_MIN_HELD, 100,000, interactions; no other account has one): for
 *   each day that is over, what the log's rolled-up part holds of it (its day cells, or its
 *   hour cells until they become day cells), its counterparts ranked by score (heads) and
 *   all of them by id in buckets, as digest.ts describes; written by the roll-up in the
 *   script that swaps the log (for a large log, staged in `ru:{A}:<week>:dg:<run>` and
 *   renamed into place by it), and expiring with it; its hash tag is the account's, as its
 *   log's. The circles of such an account merge them (digest_top.ts) instead of decoding
 *   the whole log, with the same answers.
 * - `ru:{A}:<week>:lock`, `ru:{A}:<week>:log:<run>`, `ru:{A}:<week>:dg:<run>` and
 *   `ru:{A}:<week>:old:<run>`: a roll-up of a large log in steps (rollup.ts) under way, its
 *   token, staged log and digest, and the digest it replaced until it is unlinked; all
 *   expire within minutes, so a run that stops leaves nothing for long.
 * - `r:{b}:<span>` hashes: the record memory, so deletes subtract exactly what creates
 *   added. Spans are 8 hours; a record made in that span by A with key R is field id(A)
 *   (4 bytes) + R (a TID as its 8-byte value) in bucket b = hash(field) mod the span's
 *   bucket count; the value is the hour in the span (1 byte) then its pairs (a uint32
 *   each: type * 2^28 + subject id), or "x" once deleted. Bucketing keeps a few thousand
 *   small hashes (compact listpacks) instead of a key per author and day; a span's bucket
 *   count is fixed at its first record from the records of the span before (`rb:{g}`
 *   holds both), so buckets stay near 80 records. A bucket is made by its first record,
 *   with its expiry (when the last of the span's records has been remembered for the
 *   record memory's hours): opening a span costs one field however many buckets it has
 *   (131,072 on the whole network), not a key per bucket in one call. On a Redis Cluster
 *   the buckets are `r:{T}:<span>:<b>` instead, in the slot of their records' authors: T
 *   is that slot's tag (recordTag(), record_arg.ts; slotTag() in shared/cluster.ts) and b
 *   = hash(field) mod the slot's share of the span's buckets (the count / 16,384, at least
 *   one: 8 a slot on the whole network, as many buckets in all), so that an author's
 *   records are on the node that keeps its other keys.
 * - `g:{A}` set: whom A follows (their ids) and blocks (their ids, negated); one set keeps
 *   an account's follows and blocks in one compact intset.
 * - Blocks as they stand, whatever their age (no TTL: a block lasts until its record is
 *   deleted). `bo:{A}` sorted set of A's block records: member the record key as the
 *   record memory writes it (a TID as its 8 bytes, see rkeyField), score minute * 2^28 +
 *   the subject's id, the minute the block was made counted from BLOCK_EPOCH_MS (2^25
 *   minutes, 63 years, keep a score below 2^53); so one member per block gives whom A
 *   blocks, newest first, and a delete finds its block at any age. A further record of a
 *   block A has already (rare) is scored -(subject * 2^20 + hour) instead, below every
 *   block: deleting either record keeps the block, since the first one's minute.
 *   `bi:{S}` sorted set of who blocks S: member the blocker's id (decimal), score minute *
 *   2^28 + that id. Scores are unique in both, so a page's cursor is a score. An account's
 *   deletion ends its own blocks (out of the others' `bi:`) and drops its `bo:`; the blocks
 *   others made of it stay in their `bo:` (their records still exist) and in its `bi:`, and
 *   answers leave hidden accounts out, until the retention sweep lets the deleted account go
 *   (see `p:{A}`): its `bi:` then gives each blocker's entry of it by its exact score, and
 *   those go, 1,000 a call. A deletion ends at most 1,000 blocks in the apply
 *   call; an account with more waits in the sorted set `be:{g}`, scored by the last of its
 *   blocks at its deletion, while the applier's next calls (end_blocks.lua) end the rest,
 *   1,000 a call, so that no call holds Redis for the seconds a million blocks would take;
 *   a block made after the deletion stands. Memory per block edge, measured with MEMORY USAGE
 *   by store/bench/bench_blocks.ts: see README.
 * - `lp:{g}:<hour>` strings: posts by language and account, one string per hour (absolute),
 *   6 bytes an entry, one 48-bit big-endian number: (author id * 2^15 + language code) *
 *   2 + undo, the language code as shared/langs.ts numbers a primary subtag (1-18,252).
 *   Each language of a post made that hour appends an entry; a delete the record memory
 *   takes back appends its undo (the post's languages are pairs of type POST_LANGUAGE in
 *   its record), so a window's posts per account and language are its hours' entries
 *   summed. One string an hour for the whole network keeps the per-key overhead out of it
 *   (about 6 bytes a post); its hash tag is `{g}`. Kept like the logs: it expires when its
 *   hour has been past for the retention.
 * - `p:{A}` hash: handle, name, avatar, status and the seq of the event that set each;
 *   `optout` "1" while A has opted out (hidden whatever its status). The retention sweep
 *   (retention.ts) deletes the profiles (and handle index entries) of active accounts
 *   idle through the retention that nobody blocks, and lets deleted accounts go once idle
 *   and deleted before the retention (`dhour`, the deletion's hour, which a deletion keeps
 *   in the profile): out of their blockers' `bo:`, then the profile becomes a mark of the
 *   deletion (status, dhour and the seqs; still hidden), the handle entry goes, and the account
 *   joins `ids:{ids}:gone`, for its id to go back even while follows name it (see there).
 * - `oc:{g}:<code>` strings: opt codes the API handed out, "<did> <out|in>" until the
 *   account posts the code, then "done <did> <out|in>"; they expire after an hour.
 * - `hx:{g}` sorted set of "handle\0id" for prefix search; `hidden:{g}`: ids not to show.
 * - `ids:{ids}:did` hash, DID → id; `ids:{ids}:r:<id / 128>` hashes, id % 128 → DID;
 *   `ids:{ids}:next`: the DID ↔ id interning. A did:plc is kept as 16 bytes (a zero byte,
 *   then the 120 bits of its 24 base32 letters), any other DID as its text (see didKey);
 *   the reverse map in hashes of 128 ids stays in compact listpacks. Ids of accounts idle
 *   through the retention go back (retention.ts, in the sweep): `ids:{ids}:pending` and
 *   `ids:{ids}:retiring` sets hold idle accounts' ids (and their negations, as graph sets
 *   hold blocks) for one whole sweep, dropped when anything still names them; then their
 *   mappings go, the ids join the list `ids:{ids}:free` (interning takes them first) and
 *   the counter `ids:{ids}:epoch` moves on, so that the indexer reads its cached ids again
 *   (the apply script refuses a batch whose ids were read at an older epoch).
 *   `ids:{ids}:gone` holds the ids of deleted accounts the sweep let go, scored by the
 *   hour a graph set last named one (0 for none): a graph set that names one drops it
 *   instead of keeping the id, and the reclaim takes it once none has within the retention
 *   (so that no remembered follow or block record names it) and only the mark of its
 *   deletion is left, mark and hidden entry going with the id (an #account event other
 *   than a deletion takes it out of the set). An account whose
 *   posts by language are still kept is not idle: `ids:{ids}:posters` is a bitmap of the
 *   ids in the `lp:` strings of the hours still kept (a bit an id, by id), built once a
 *   sweep (via `ids:{ids}:posters:next`) and dropped when its retiring set is renewed.
 * - `idx:{firehose}:lease:<partition>` strings: which indexer holds a stream partition
 *   (its name, with a TTL); the apply script writes only while it is the caller's.
 *   `idx:{firehose}:parked`: a stream of the entries the indexer could not read.
 * - `sw:{<tag>}` hash: a hash slot's watermarks for writes by slot (slot_writes.ts): per
 *   stream partition, the last entry whose writes the slot holds; `tag` is one of the slot's
 *   own hash tags (slotTag() in shared/cluster.ts), so the hash moves with the slot.
 * - `settings:{g}` hash: what the indexer keeps (retentionDays, recordMemoryHours), written
 *   when it starts, for the API's /v1/meta.
 * - The backfill (backfill/): `bf:{g}:live` the instant (ms) the platform started reading the
 *   live stream; `bf:{g}:active` sorted set of running backfills (a token each, scored by
 *   when its hold ends, s); `bt:{g}:<hour>` hashes, while a backfill runs, of the records
 *   (fields as in the record memory) deleted live in that hour that the memory did not
 *   hold, kept two hours past it; per source host (its host:port, see backfillHostName)
 *   `bf:{g}:host:<host>` (listRepos cursor, counts, state; on a Cluster also `seq`, the last
 *   part's entry number, `pending`, the entry and author of a part whose second round may not
 *   be written yet, and `run`, the token of the run loading it), `bf:{g}:repos:<host>` (how far
 *   each repository of the pages in progress is loaded: the last record path, or "done")
 *   and `bf:{g}:failed:<host>` (repositories that failed: attempts, error, next try).
 *
 * Every key name is spelled once, in KEY_NAMES (keys.ts): storeKeys builds them in TypeScript, and
 * the scripts (scripts/*.lua) get the same table as `K` (see lua.ts).
 *
 * Redis Cluster (the apply there is described at the end). Its per-account keys carry the account's
 * id as hash tag (`l:{A}:*`, `g:{A}`, `p:{A}`, `bo:{A}`, `bi:{A}`: one slot per
 * account), record buckets their bucket (`r:{b}:*`, on a Cluster their authors' slot's tag,
 * `r:{T}:*`); the global sets share `{g}`, the
 * interning `{ids}` and the indexer's lease and parked entries `{firehose}`. The scripts do
 * not keep to one slot:
 * - the apply script (apply.lua) declares no keys and, in one call, writes the logs of the
 *   batch's accounts and of their counterparts, their sets, blocks and profiles, record buckets,
 *   `rb:{g}`, `hx:{g}`, `hidden:{g}` and `oc:{g}:*`, reads the lease and acknowledges the
 *   partition's stream (the firehose's keys): keys of many slots, which Cluster refuses;
 * - the checked-profile write (write_profile.lua) touches `p:{A}`, `hx:{g}` and reads
 *   `{ids}` (on a Cluster it keeps to `p:{A}`, and profiles.ts writes the rest apart), and
 *   the idle-profile pruning (prune_profiles.lua) the profiles, sets, logs and
 *   `bi:` of many accounts, their blockers' `bo:`, `hx:{g}`, `hidden:{g}`, `be:{g}` and
 *   `ids:{ids}:gone`: several slots (on a Cluster it runs per account, in its slot, and
 *   retention.ts writes the rest apart);
 * - the ending of a deleted account's blocks (end_blocks.lua) writes its `bo:`, the
 *   others' `bi:` and `be:{g}`, as the apply script does;
 * - a page of blocks (block_page.lua) reads an account's `bo:` and `bi:` and `hidden:{g}`
 *   (on a Cluster, blocks.ts reads the same page in calls of one slot each instead);
 * - the reclaiming of ids (reclaim_ids.lua) reads the own keys of many accounts and
 *   deletes the profiles of deleted ones, with `hidden:{g}` and the `{ids}` keys (on a
 *   Cluster it keeps to `{ids}`, given what reclaim.ts read of the accounts first);
 * - the interning (intern.lua) keeps to `{ids}` and the roll-up's swaps (swap_log.lua,
 *   swap_staged.lua) to their declared log, digest, lock and staged keys (one account's
 *   slot): these would run (the intern script builds its reverse-map keys itself, in the
 *   slot of the keys it declares);
 * - reads are single-key commands, some pipelined: a pipeline over keys of several slots
 *   (profiles(), a hash per account; topInteractions(), the hidden set with the account's
 *   own set, and its filters, many accounts' sets and logs) goes through crossSlotPipeline
 *   (shared/pipeline.ts), a pipeline per master on a Cluster; the roll-up, the sweep and
 *   the top lists scan every master through scanKeys (shared/redis.ts), a page a node.
 * The apply on a Cluster is built in two rounds (cluster_apply.ts; tested against the
 * one-call apply on one server and on a real cluster, through stops, a reshard and a
 * failover, and by the whole platform's test on one; the indexer uses it there). It rests on:
 * - one writer per author: a partition holds all of an author's events and one indexer at a
 *   time applies a partition, so what an operation decides from (its author's remembered
 *   records, profile seqs, `bo:`, `g:`, and its own member in `bi:{S}` and opt codes) is
 *   changed by no one else between the reading and the writing;
 * - a batch in two rounds: first one call per master (apply_cluster_run.lua) applies the
 *   operations of the authors whose slots it serves, writes what lands in those slots (an
 *   author's records are kept in its slot) and returns, per entry, what lands elsewhere
 *   (each counterpart's log entry, `bi:{S}`, and the `{g}` and `{ids}` writes); then one
 *   call per master writes those (slot_writes.ts). Such a call declares no keys and runs
 *   with the script flag `allow-cross-slot-keys`; a node refuses a key of a slot it does not
 *   serve (moved, or moving and not held there) at the command that names it, so a
 *   first-round call asks each of its slots for a key that never exists (`sw:{<tag>}:probe`:
 *   answered only while the node serves the whole slot) before its first write, and a
 *   second-round call reads every key first and writes no key it emptied;
 * - exactly once per slot: a watermark per slot and partition, in the slot's own
 *   `sw:{<tag>}` (fields `<partition>` for the second round, `d<partition>` for the first),
 *   read and moved by the same call, so that a batch sent again after a stop skips the
 *   slots it reached; the first round keeps what it returned from the batch's first entry
 *   on (field `j<partition>`, MessagePack) and returns it again, so that the second round is
 *   the same whoever finishes it; all of it moves with its slot on a reshard;
 * - what the first round cannot read in its slots read before it: whether A's block of S is
 *   in `bi:{S}`, opt codes, and the record memory's bucket counts (the batch's spans opened
 *   first in `{g}`, open_spans.lua); the call then knows those keys as its own writes leave
 *   them;
 * - a deleted account's blocks all ended in its first-round call (no `be:{g}` steps);
 * - the acknowledgement after both rounds and a replica's `WAIT` for each call, no longer
 *   one atomic step with the writes, and the second round only once the first is on the
 *   replicas; the lease is checked only where a batch starts (no fencing of the calls): the
 *   watermarks keep a writer that lost it from applying anything twice;
 * - the ids' epoch read before each batch (a call cannot read `{ids}`), and ids given back
 *   in two steps a sweep apart, behind a fence the writers keep (reclaim.ts):
 *   `ids:{ids}:writers` (writer → holder) names every indexer partition or backfill host that
 *   read ids and has not written and acknowledged all of it, said in one step with looking at
 *   `ids:{ids}:fence` (a token while the sweep retracts ids: none begins then); the ids
 *   retracted (their DIDs' mappings gone) wait in `ids:{ids}:retracted` to be freed; a
 *   master's copy of the retiring ids, `rc:{<tag>}` (written as `rc:{<tag>}:next`), lets the
 *   sweep check the graph sets it serves; the idle-profile pruning runs per account in its
 *   slot and writes the rest after;
 * - the backfill's parts applied as entries of the host's own partition (`bf.<host>`), a
 *   repository's mark in its account's slot (`bf:{<tag>}:repos:<host>`), and live deletes of
 *   records the memory lacks tombstoned in their authors' slots (`bt:{<tag>}:<hour>`, kept two
 *   hours past the hour) whether a backfill runs or not (store/backfill.ts).
 */

export const TYPES = ["like", "repost", "reply", "quote", "mention"] as const;
export type InteractionType = typeof TYPES[number];
/** Type codes in logs and records; 6 (blocks) is logged apart, 7 (follows) only kept in sets. */
export const TYPE_CODE: Record<InteractionType | "block" | "follow", number> = {
  like: 1,
  repost: 2,
  reply: 3,
  quote: 4,
  mention: 5,
  block: 6,
  follow: 7,
};

/**
 * In a block record's pairs, beside its block (type 6): a pair of this type carries the
 * minute in the hour it was made (0-59), for the order of blocks as they stand.
 */
export const BLOCK_MINUTE = 8;
/** Blocks as they stand are timed in minutes from this instant (2023-01-01T00:00Z). */
export const BLOCK_EPOCH_MS = Date.UTC(2023, 0, 1);
/**
 * In a post record's pairs: a pair of this type carries one of the post's languages (its
 * languageCode, shared/langs.ts) instead of a counterpart, counted in `lp:{g}:<hour>`.
 */
export const POST_LANGUAGE = 9;
/** Bytes of one entry of `lp:{g}:<hour>`. */
export const LANGUAGE_ENTRY_BYTES = 6;

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

/** Ids fit in the 28 bits a log entry has for them. */
export const MAX_ID = 2 ** 28 - 1;

export { didKey, didOfKey } from "./did_key.ts";
export {
  backfillHostName,
  ID_BUCKET,
  INTERNING_KEYS,
  KEY_NAMES,
  KEY_VALUE,
  type KeyName,
  keyPrefix,
  keyValues,
  storeKeys,
} from "./keys.ts";
export {
  ENTRY_BYTES,
  firstHourCellDay,
  type LogVisitor,
  ROLLED_MARK,
  rolledLength,
  rollUpLog,
  scanLog,
  WEEK_HOURS,
} from "./log.ts";
