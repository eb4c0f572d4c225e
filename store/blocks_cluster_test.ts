/**
 * Blocks as they stand on a real local Redis Cluster (3 masters, 3 replicas): blocks written
 * by the real applier to one redis-server and copied key by key into the cluster, where an
 * account's block sets and the hidden set are in different slots, give the same pages,
 * cursors and counts as the one-server script, hidden accounts and the further records of a
 * block included.
 */
import assert from "node:assert/strict";
import type { Redis } from "@bsky/shared/redis";
import { copyInto, startRedisCluster } from "@bsky/shared/testing/redis_cluster";
import { type BlockCursor, type BlockDirection, type BlockPage, blockPage } from "./blocks.ts";
import { idOf } from "./ids.ts";
import { HOUR_MS, storeKeys } from "./layout.ts";
import { account, block, T0, withStore } from "./testing/fixtures.ts";
import { tidOf as tid } from "./testing/generate.ts";

const hide = (did: string) => account(did, false, "takendown");
const did = (name: string, i: number) => `did:plc:${name}${String(i).padStart(3, "0")}`;

/** Every page of an account's blocks in one direction, following the cursors. */
async function pages(
  redis: Redis,
  account: string,
  direction: BlockDirection,
  limit: number,
  budget: number,
): Promise<BlockPage[]> {
  const out: BlockPage[] = [];
  let cursor: BlockCursor | undefined;
  for (;;) {
    const page = await blockPage(redis, account, { direction, limit, budget, cursor });
    out.push(page);
    if (page.next === undefined) return out;
    cursor = page.next;
  }
}

Deno.test("on a Redis Cluster a page of blocks, its cursor and its counts are as on one server", async () => {
  await withStore(async (one, applier) => {
    const target = "did:plc:target";
    const blockers = Array.from({ length: 45 }, (_, i) => did("by", i));
    const blocked = Array.from({ length: 35 }, (_, i) => did("of", i));
    // Two accounts interned first give the target an id whose slot is on another master than
    // the hidden set's (asserted below).
    await applier.apply([block(did("x", 0), tid(300), did("x", 1), T0)]);
    await applier.apply([
      ...blockers.map((d, i) => block(d, tid(i), target, T0 - i * HOUR_MS)),
      ...blocked.map((d, i) => block(target, tid(100 + i), d, T0 - i * 7 * 60_000)),
      // A further record of a block the target has already: not a block of its own.
      block(target, tid(200), blocked[3], T0 - HOUR_MS),
    ]);
    // Runs of hidden accounts in both directions, longer than a page's budget.
    await applier.apply([
      ...blockers.filter((_, i) => i % 4 === 1 || (i >= 10 && i < 22)).map(hide),
      ...blocked.filter((_, i) => i % 5 === 0).map(hide),
    ]);

    await using cluster = await startRedisCluster();
    const many = await cluster.connect();
    try {
      await copyInto(one, many);
      const id = (await idOf(one, target))!;
      const hiddenMaster = await cluster.masterOf(storeKeys.hidden);
      assert.notEqual(
        await cluster.masterOf(storeKeys.blockedBy(id)),
        hiddenMaster,
        "the account's set and the hidden set are on different masters",
      );
      let walked = 0;
      for (const direction of ["blocked-by", "blocking"] as BlockDirection[]) {
        for (const [limit, budget] of [[1, 1000], [5, 1000], [7, 9], [50, 1000], [3, 4]]) {
          const a = await pages(one, target, direction, limit, budget);
          const b = await pages(many, target, direction, limit, budget);
          assert.deepEqual(b, a, `${direction}, limit ${limit}, budget ${budget}`);
          walked += a.length;
        }
        const all = (await pages(one, target, direction, 50, 1000)).flatMap((p) => p.items);
        assert.equal(all.length, direction === "blocked-by" ? 45 - 20 : 35 - 7, direction);
      }
      assert.ok(walked > 40, `${walked} pages compared`);
      const { counts } = await blockPage(many, target, { direction: "blocking", limit: 1 });
      assert.deepEqual(counts, { blockedBy: 25, blocking: 28 });
    } finally {
      many.disconnect();
    }
  });
});
