/**
 * Reads a repository as com.atproto.sync.getRepo sends it: a CAR (v1) whose root is the
 * signed commit, whose `data` is the root of the repository's Merkle search tree (MST). The
 * tree is walked from the commit, in key order, to the records of the collections the
 * platform keeps. Every byte is the source's: a malformed CAR, a commit of another account,
 * a tree that loops or is out of order, each is a RepoError with a stable reason, never a
 * crash; a record whose block is missing is left out and counted.
 */
import { fromUint8Array } from "@atcute/car";
import { CidLinkWrapper, decode, fromBytes, isBytes } from "@atcute/cbor";
import { type Collection, isKeptCollection } from "@bsky/shared/events";
import { isValidRecordKey } from "@bsky/shared/syntax";
import { Buffer } from "node:buffer";

/** Why a repository could not be read. */
export class RepoError extends Error {
  override name = "RepoError";
  constructor(readonly reason: string, message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** A record of a kept collection, at its path in the repository. */
export interface RepoRecord {
  collection: Collection;
  rkey: string;
  /** `collection/rkey`: records come in increasing order of it. */
  path: string;
  block: Uint8Array;
}

export interface ReadRepo {
  /** The commit's revision (a TID): when the repository was last written. */
  rev: string;
  records: RepoRecord[];
  /** Entries of the tree in all (every collection). */
  entries: number;
  /** Records of kept collections whose block the CAR does not hold. */
  missing: number;
}

/** The MST spec's bound on a key (collection/rkey) in bytes. */
const MAX_KEY_BYTES = 1024;

const { latin1Slice } = Buffer.prototype as unknown as {
  latin1Slice(this: Uint8Array, start: number, end: number): string;
};

/** A CID's bytes as a Map key. */
const keyOf = (cid: Uint8Array) => latin1Slice.call(cid, 0, cid.length);

const fail = (reason: string, message: string, cause?: unknown) =>
  new RepoError(reason, message, cause === undefined ? undefined : { cause });

const isLink = (v: unknown): v is CidLinkWrapper => v instanceof CidLinkWrapper;

/** Reads the repository of `did` from its CAR; throws RepoError when it cannot. */
export function readRepo(car: Uint8Array, did: string): ReadRepo {
  const blocks = new Map<string, Uint8Array>();
  let root: Uint8Array;
  try {
    const reader = fromUint8Array(car);
    const [first]: unknown[] = reader.roots;
    if (!isLink(first)) throw new RangeError("no root CID");
    root = first.bytes;
    for (const entry of reader) {
      const key = keyOf(entry.cid.bytes);
      if (!blocks.has(key)) blocks.set(key, entry.bytes);
    }
  } catch (err) {
    throw fail("bad_car", `Cannot read the CAR: ${(err as Error).message}`, err);
  }
  const load = (cid: Uint8Array, what: string): unknown => {
    const block = blocks.get(keyOf(cid));
    if (!block) throw fail("missing_block", `The CAR lacks the ${what}`);
    try {
      return decode(block);
    } catch (err) {
      throw fail("bad_block", `Cannot decode the ${what}: ${(err as Error).message}`, err);
    }
  };
  const commit = load(root, "commit") as Record<string, unknown> | null;
  if (commit === null || typeof commit !== "object" || Array.isArray(commit)) {
    throw fail("bad_commit", "The commit is not a map");
  }
  if (commit.did !== did) {
    throw fail("wrong_repo", `The commit is of ${String(commit.did).slice(0, 100)}, not ${did}`);
  }
  if ((commit.version !== 2 && commit.version !== 3) || !isLink(commit.data)) {
    throw fail("bad_commit", "The commit has no tree, or an unknown version");
  }
  const rev = typeof commit.rev === "string" ? commit.rev : "";
  const out: ReadRepo = { rev, records: [], entries: 0, missing: 0 };
  walk(commit.data.bytes, load, blocks, out);
  return out;
}

type Item = { node: Uint8Array } | { key: string; value: Uint8Array };

/**
 * Walks the tree in key order without recursion: a node is its left subtree, then each
 * entry followed by the subtree on its right. A node met twice (a loop, or a shared
 * subtree) or keys out of order make the tree malformed.
 */
function walk(
  rootCid: Uint8Array,
  load: (cid: Uint8Array, what: string) => unknown,
  blocks: Map<string, Uint8Array>,
  out: ReadRepo,
): void {
  const seen = new Set<string>();
  const stack: Item[] = [{ node: rootCid }];
  let last = "";
  while (stack.length > 0) {
    const item = stack.pop()!;
    if ("key" in item) {
      if (item.key <= last && out.entries > 0) {
        throw fail("bad_mst", "The tree's keys are out of order");
      }
      last = item.key;
      out.entries++;
      record(item.key, item.value, blocks, out);
      continue;
    }
    const nodeKey = keyOf(item.node);
    if (seen.has(nodeKey)) throw fail("bad_mst", "The tree reaches a node twice");
    seen.add(nodeKey);
    const node = load(item.node, "tree node") as Record<string, unknown> | null;
    if (node === null || typeof node !== "object" || !Array.isArray(node.e)) {
      throw fail("bad_mst", "A tree node is not a map with entries");
    }
    if (node.l !== null && node.l !== undefined && !isLink(node.l)) {
      throw fail("bad_mst", "A tree node's left link is not a CID");
    }
    const items: Item[] = [];
    if (node.l) items.push({ node: node.l.bytes });
    let prev = new Uint8Array(0);
    for (const raw of node.e as unknown[]) {
      const e = raw as Record<string, unknown> | null;
      if (
        e === null || typeof e !== "object" || !Number.isSafeInteger(e.p) || !isBytes(e.k) ||
        !isLink(e.v) || (e.t !== null && e.t !== undefined && !isLink(e.t))
      ) throw fail("bad_mst", "A tree entry is malformed");
      const p = e.p as number, suffix = fromBytes(e.k);
      if (p < 0 || p > prev.length || p + suffix.length > MAX_KEY_BYTES) {
        throw fail("bad_mst", "A tree entry's key is malformed");
      }
      const key = new Uint8Array(p + suffix.length);
      key.set(prev.subarray(0, p));
      key.set(suffix, p);
      prev = key;
      items.push({ key: latin1Slice.call(key, 0, key.length), value: e.v.bytes });
      if (e.t) items.push({ node: e.t.bytes });
    }
    for (let i = items.length - 1; i >= 0; i--) stack.push(items[i]);
  }
}

/** Adds the entry's record when it is of a kept collection. */
function record(
  path: string,
  cid: Uint8Array,
  blocks: Map<string, Uint8Array>,
  out: ReadRepo,
): void {
  const slash = path.indexOf("/");
  if (slash <= 0 || slash !== path.lastIndexOf("/")) return;
  const collection = path.slice(0, slash), rkey = path.slice(slash + 1);
  if (!isKeptCollection(collection) || !isValidRecordKey(rkey)) return;
  const block = blocks.get(keyOf(cid));
  if (!block) {
    out.missing++;
    return;
  }
  out.records.push({ collection, rkey, path, block });
}
