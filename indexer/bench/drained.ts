/** What the indexer's benches wait for: every partition's entries read and acknowledged. */
import { firehoseKeys } from "@bsky/shared/keys";
import { consumerGroups, type RedisClient } from "@bsky/shared/redis";

/** Resolves once the indexer's group has read and acknowledged every entry of every partition. */
export async function drained(redis: RedisClient, partitions: number): Promise<void> {
  for (;;) {
    let left = 0;
    for (let p = 0; p < partitions; p++) {
      const [g] = await consumerGroups(redis, firehoseKeys.stream(p));
      left += g ? (g.lag ?? 1) + g.pending : 1;
    }
    if (left === 0) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}
