/**
 * Redis key names. Keys that must change together in one atomic step share a hash tag
 * (the part in braces) so that the same code runs on Redis Cluster.
 */

/** The firehose's keys: its cursor and its partitioned event streams share one slot. */
export const firehoseKeys = {
  cursor: "fh:{firehose}:cursor",
  stream: (partition: number) => `fh:{firehose}:events:${partition}`,
  streams: (partitions: number) =>
    Array.from({ length: partitions }, (_, i) => firehoseKeys.stream(i)),
};

/** FNV-1a over the DID's UTF-16 code units: stable across processes and versions. */
export function partitionOf(did: string, partitions: number): number {
  if (partitions <= 1) return 0;
  let h = 0x811c9dc5;
  for (let i = 0; i < did.length; i++) {
    h ^= did.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % partitions;
}
