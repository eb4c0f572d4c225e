/** Test helpers: a top list in Redis, written the way the scheduler writes it. */
import { statsKeys } from "@bsky/shared/keys";
import type { Redis } from "@bsky/shared/redis";

/** The 24 h list of likes received: `items` best first. */
export async function writeLikesReceivedTop(
  redis: Redis,
  items: { did: string; count: number }[],
  computedAt: number,
): Promise<void> {
  await redis.set(
    statsKeys.top("24h", "likes_received"),
    JSON.stringify({
      metric: "likes_received",
      window: "24h",
      computedAt,
      items,
    }),
  );
}
