/**
 * Repositories as getRepo sends them, built in tests: a commit, a Merkle search tree of
 * one or two levels, and the records, in a CAR. The tree keeps keys in order, but does not
 * place them by their hash as a real one would: the reader checks order, not placement.
 */
import { writeCarStream } from "@atcute/car";
import { CidLinkWrapper, encode, toBytes } from "@atcute/cbor";
import { create } from "@atcute/cid";

export interface Block {
  cid: Uint8Array;
  bytes: Uint8Array;
}

/** A DAG-CBOR block of `value`. */
export async function block(value: unknown): Promise<Block> {
  const bytes = encode(value);
  return { cid: (await create(0x71, bytes)).bytes, bytes };
}

const link = (b: Block | Uint8Array) => new CidLinkWrapper(b instanceof Uint8Array ? b : b.cid);
const utf8 = new TextEncoder();

/** A tree node's entries with their keys compressed against the one before. */
function entries(items: { key: string; value: Uint8Array; right?: Block }[]) {
  let prev = new Uint8Array(0);
  return items.map(({ key, value, right }) => {
    const k = utf8.encode(key);
    let p = 0;
    while (p < k.length && p < prev.length && k[p] === prev[p]) p++;
    prev = k;
    return { k: toBytes(k.subarray(p)), p, t: right ? link(right) : null, v: link(value) };
  });
}

export interface RepoOptions {
  /** The commit's DID (another account's, for a hostile source). */
  commitDid?: string;
  /** Records whose block the CAR leaves out. */
  omit?: string[];
  /** Split the tree: a root with one entry, the keys before it on the left, after on the right. */
  twoLevels?: boolean;
  /** Extra blocks, and the root replaced, for malformed trees. */
  rootNode?: (blocks: Block[]) => Promise<Block>;
}

/** The CAR of `did`'s repository with `records` (path → record), in key order. */
export async function repoCar(
  did: string,
  records: [string, unknown][],
  options: RepoOptions = {},
): Promise<Uint8Array<ArrayBuffer>> {
  const sorted = [...records].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0);
  const recordBlocks: Block[] = [];
  const items: { key: string; value: Uint8Array }[] = [];
  for (const [path, record] of sorted) {
    const b = await block(record);
    if (!options.omit?.includes(path)) recordBlocks.push(b);
    items.push({ key: path, value: b.cid });
  }
  const nodes: Block[] = [];
  let root: Block;
  if (options.rootNode) {
    root = await options.rootNode(nodes);
  } else if (options.twoLevels && items.length >= 3) {
    const mid = Math.floor(items.length / 2);
    const left = await block({ l: null, e: entries(items.slice(0, mid)) });
    const right = await block({ l: null, e: entries(items.slice(mid + 1)) });
    nodes.push(left, right);
    root = await block({ l: link(left), e: entries([{ ...items[mid], right }]) });
  } else {
    root = await block({ l: null, e: entries(items) });
  }
  nodes.push(root);
  const commit = await block({
    did: options.commitDid ?? did,
    version: 3,
    data: link(root),
    rev: "3kaaaaaaaaaa2",
    prev: null,
    sig: toBytes(new Uint8Array(64)),
  });
  const all = [commit, ...nodes, ...recordBlocks];
  const chunks = await Array.fromAsync(
    writeCarStream([link(commit)], all.map((b) => ({ cid: b.cid, data: b.bytes }))),
  );
  return new Uint8Array(await new Blob(chunks).arrayBuffer());
}

/** A tree node made of raw entries, for malformed trees. */
export function node(l: Block | null, e: unknown[]): Promise<Block> {
  return block({ l: l ? link(l) : null, e });
}

export { entries, link };
