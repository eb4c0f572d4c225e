import applyHead from "./scripts/apply.lua" with { type: "text" };
import applyBackfill from "./scripts/apply_backfill.lua" with { type: "text" };
import applyBlocks from "./scripts/apply_blocks.lua" with { type: "text" };
import applyLogs from "./scripts/apply_logs.lua" with { type: "text" };
import applyOperations from "./scripts/apply_operations.lua" with { type: "text" };
import applyOperationsRun from "./scripts/apply_operations_run.lua" with { type: "text" };
import applyRecords from "./scripts/apply_records.lua" with { type: "text" };
import applyClusterRun from "./scripts/apply_cluster_run.lua" with { type: "text" };
import applyClusterWrites from "./scripts/apply_cluster_writes.lua" with { type: "text" };
import applyRun from "./scripts/apply_run.lua" with { type: "text" };
import openSpans from "./scripts/open_spans.lua" with { type: "text" };
import applyWrites from "./scripts/apply_writes.lua" with { type: "text" };
import endBlocks from "./scripts/end_blocks.lua" with { type: "text" };
import intern from "./scripts/intern.lua" with { type: "text" };
import { crossSlotScript, withKeys } from "./lua.ts";

/**
 * The apply script's parts, in the order they make one script (one EVALSHA): its
 * arguments and shared helpers (apply.lua), the writes outside the author's slot (made at
 * once, on one server), the logs, blocks as they stand, the record memory, the live
 * stream's operations, the backfill's, what runs them, then the run over the batch. Each
 * part's locals are seen by the parts after it. Redis's errors name lines of the whole (of
 * APPLY_SCRIPT; the Cluster's script has its flag line and stream_ids.lua in front): the
 * first part's are its own.
 */
const APPLY_PARTS = [
  applyHead,
  applyWrites,
  applyLogs,
  applyBlocks,
  applyRecords,
  applyOperations,
  applyBackfill,
  applyOperationsRun,
  applyRun,
];

/**
 * The store's write scripts, scripts/apply.lua and scripts/intern.lua, with the key names
 * in front (lua.ts).
 *
 * The apply script applies a batch of operations and acknowledges their stream entries in
 * one atomic step: a batch is either wholly applied and acknowledged or not at all. ARGV:
 * the retention (s), the record memory (s, then hours), the stream, the group, the number
 * of entry ids, the lease's key and token ("" for no fencing), the entry ids, then the
 * operations, one after another (ids are interned; H is an absolute hour; F is a
 * record's field in the record memory, which starts with its author A's id, and X a 32-bit
 * hash of F that picks its bucket, T the tag of A's slot, recordTag() in record_arg.ts). A
 * record operation's argument is one string: X and H (uint32 BE), the length of T (a byte),
 * T, the length of F (a byte), F, and for creates and updates the pairs P (uint32 BE each:
 * type * 2^28 + subject id).
 *   e E          the batch's ids were read at epoch E of the interning (first, when given):
 *                when ids were reclaimed since, the script fails with IDS_CHANGED before
 *                writing anything (apply.ts reads the ids again); counts as applied
 *   c [X H F P]  record of A created at hour H with pairs P
 *   u [X H F P]  record updated: what its last version added is taken back, P added
 *   d [X H F]    record deleted at hour H: what it added is taken back while remembered
 *   p A S N V    profile of A at seq S: display name N, avatar CID V ("" = none)
 *   h A S H      identity of A at seq S: handle H ("" = none given)
 *   s A S T Z H  account of A at seq S: active T ("1"/"0"), status Z, at hour H (a first
 *                deletion keeps its hour)
 *   o A D C      A (DID D) posted opt code C ("out:CODE" or "in:CODE"): A is hidden or
 *                shown again when the API handed the code out for D and that action
 * Types 1-5 are interactions and 6 blocks (logged in both accounts' logs per week and
 * hour), 7 follows. Returns {applied, duplicate, unmatched, late, ending} (unmatched:
 * deletes of unknown records and opt codes that match nothing; ending: deleted accounts
 * whose blocks are not all ended yet, see END_BLOCKS_SCRIPT), or {-1, …} when this
 * process no longer holds the partition's lease (nothing is written then).
 */
export const APPLY_SCRIPT: string = withKeys(APPLY_PARTS.join("\n"));

/**
 * The apply script's first round on a Redis Cluster (scripts/apply_cluster_run.lua says
 * how): the same parts, with the writes outside the authors' slots returned instead of
 * made (apply_cluster_writes.lua), and a run over the batch's slots.
 */
export const APPLY_CLUSTER_SCRIPT: string = crossSlotScript(withKeys(
  [applyHead, applyClusterWrites, ...APPLY_PARTS.slice(2, -1), applyClusterRun].join("\n"),
));

/** Opens spans of the record memory, on a Cluster before a batch (scripts/open_spans.lua). */
export const OPEN_SPANS_SCRIPT: string = withKeys(
  [applyWrites, applyRecords, openSpans].join("\n"),
);

/**
 * Ends up to ARGV[1] blocks of a deleted account whose deletion had more to end than one
 * call ends (scripts/end_blocks.lua, after the apply script's blocks part); returns how
 * many such accounts are left.
 */
export const END_BLOCKS_SCRIPT: string = withKeys([applyWrites, applyBlocks, endBlocks].join("\n"));

/**
 * Interns DIDs (as didKey() gives them): returns each one's id, allocating ids for new
 * DIDs (reclaimed ones first), then the interning's epoch. KEYS: the DID → id map, the id
 * counter.
 */
export const INTERN_SCRIPT: string = withKeys(intern);
