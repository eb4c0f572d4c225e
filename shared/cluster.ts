/**
 * What a Redis Cluster client needs to know of the cluster's shape: the slot of a key, the
 * master that serves it, and whether the slots stand still while a walk of every master
 * (scanKeys in redis.ts) goes on.
 * @module
 */
import type { Cluster } from "ioredis";

export const SLOTS = 16384;

/** CRC16-CCITT (XMODEM), the checksum Redis Cluster hashes keys with. */
const CRC_TABLE = (() => {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 8;
    for (let j = 0; j < 8; j++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
    table[i] = c;
  }
  return table;
})();
const encoder = new TextEncoder();

/**
 * The hash slot of a key, as Redis Cluster computes it: the CRC16 of its hash tag (what
 * stands between the first `{` and the next `}`, when not empty) or else of the whole key,
 * modulo 16384.
 */
export function keySlot(key: string | Uint8Array): number {
  let bytes = typeof key === "string" ? encoder.encode(key) : key;
  const open = bytes.indexOf(0x7b);
  if (open >= 0) {
    const close = bytes.indexOf(0x7d, open + 1);
    if (close > open + 1) bytes = bytes.subarray(open + 1, close);
  }
  let crc = 0;
  for (const b of bytes) crc = ((crc << 8) & 0xffff) ^ CRC_TABLE[((crc >> 8) ^ b) & 0xff];
  return crc % SLOTS;
}

/** Letters of the slot tags: hash tags, key values (no `:`, `{` or `}`) and plain text. */
const TAG_LETTERS = "0123456789abcdefghijklmnopqrstuvwxyz";
let slotTags: string[] | undefined;

/**
 * A short hash tag (lowercase letters and digits) whose keys fall in `slot`: a key named
 * with `{<tag>}` lives in that slot, so a script can keep something of its own there. The
 * same tag every time: the shortest found by counting up in base 36.
 */
export function slotTag(slot: number): string {
  if (!Number.isInteger(slot) || slot < 0 || slot >= SLOTS) {
    throw new RangeError(`No hash slot ${slot}: slots are 0 to ${SLOTS - 1}`);
  }
  if (!slotTags) {
    const tags: string[] = new Array(SLOTS);
    let left = SLOTS;
    // Every slot has a tag of at most 4 letters (36^4 = 1,679,616 tried at most).
    for (let n = 0; left > 0; n++) {
      let tag = "";
      for (let k = n; tag === "" || k > 0; k = Math.floor(k / 36)) tag = TAG_LETTERS[k % 36] + tag;
      const s = keySlot(tag);
      if (tags[s] === undefined) {
        tags[s] = tag;
        left--;
      }
    }
    slotTags = tags;
  }
  return slotTags[slot];
}

/** The master ("host:port") that serves a key as the client last learnt; undefined before it knows. */
export function masterOf(cluster: Cluster, key: string): string | undefined {
  return cluster.slots[keySlot(key)]?.[0];
}

/** The cluster's slots are moving, or some are served by no master this client reaches. */
export class ClusterUnsettledError extends Error {
  override name = "ClusterUnsettledError";
}

/**
 * Which master serves which slots, as the masters the client is connected to say of
 * themselves; throws ClusterUnsettledError while a slot is migrating or when their slots do
 * not add up to every slot (a master the client has not learnt of yet, one failed over).
 * The same text before and after a walk of every master means no slot moved meanwhile.
 */
export async function slotOwners(cluster: Cluster): Promise<string> {
  const masters = cluster.nodes("master");
  // The client learns the slots' masters again when they are not what it knows: a master
  // it has not learnt of (a replica promoted since), or one gone (it would only learn when a
  // command of its own is redirected).
  const learn = () => new Promise<void>((resolve) => cluster.refreshSlotsCache(() => resolve()));
  const own = await Promise.all(masters.map(async (node) => {
    const text = String(await node.cluster("NODES"));
    return text.split("\n").find((line) => line.split(" ")[2]?.includes("myself")) ?? "";
  })).catch(async (err) => {
    await learn();
    throw err;
  });
  let served = 0;
  const owners: string[] = [];
  for (const line of own) {
    const fields = line.trim().split(" ");
    const ranges = fields.slice(8);
    if (ranges.some((r) => r.startsWith("["))) {
      throw new ClusterUnsettledError(`slots are migrating on ${fields[1]}`);
    }
    for (const range of ranges) {
      const [from, to = from] = range.split("-").map(Number);
      served += to - from + 1;
    }
    owners.push(`${fields[0]} ${ranges.join(" ")}`);
  }
  if (served !== SLOTS) {
    await learn();
    throw new ClusterUnsettledError(`the masters reached serve ${served} of ${SLOTS} slots`);
  }
  return owners.sort().join("\n");
}
