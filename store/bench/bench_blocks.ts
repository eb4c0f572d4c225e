/**
 * Memory of blocks as they stand, per block edge: a generated population of blocks shaped
 * like the network's (a few accounts blocked by 10^5 and more, a long tail blocked by one
 * or two; a few accounts blocking thousands) written through the store's real write path
 * into a local redis-server, then MEMORY USAGE (every element sampled) of each `bo:` and
 * `bi:` key. Prints bytes per edge by key family, apart for keys small enough to
 * be kept compact (listpacks) and for the large ones (skiplists, hash tables), and what a
 * network of `--network` edges of the same shape would take. Then deletes an account that
 * blocks `--deleted` accounts and prints how long its longest Redis call took, and lets the
 * most blocked account go once deleted and idle through the retention (the sweep's pruning:
 * every blocker's list loses it) and prints the same.
 *
 *   deno run --allow-all store/bench/bench_blocks.ts [--edges 300000] [--top 100000]
 *     [--deleted 1000000]
 */
import { parseArgs } from "node:util";
import { connectRedis } from "@bsky/shared/redis";
import { startRedisServer } from "@bsky/shared/testing/redis_server";
import type { FirehoseEvent } from "@bsky/shared/events";
import { Applier } from "../apply.ts";
import { blockPage } from "../blocks.ts";
import { idOf } from "../ids.ts";
import { DAY_MS, HOUR_MS, keyPrefix, storeKeys } from "../layout.ts";
import { pruneIdleProfiles, UNBLOCK_STEP } from "../retention.ts";
import { scriptTime } from "./slow_log.ts";

const { values } = parseArgs({
  options: {
    edges: { type: "string", default: "300000" },
    top: { type: "string", default: "100000" },
    network: { type: "string", default: "50000000" },
    seed: { type: "string", default: "7" },
    deleted: { type: "string", default: "1000000" },
  },
});
const EDGES = Number(values.edges), TOP = Number(values.top), NETWORK = Number(values.network);
const DELETED = Number(values.deleted);

/** A small seeded generator (mulberry32), so that runs compare. */
let state = Number(values.seed) >>> 0;
function random(): number {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

/** A rank from 0 to n - 1, drawn with weight 1 / (rank + 1)^s. */
function zipf(n: number, s: number): number {
  // Inverse of the continuous approximation: fast and close enough for a shape.
  const u = random();
  if (s === 1) return Math.min(n - 1, Math.floor(Math.exp(u * Math.log(n + 1))) - 1);
  const a = 1 - s;
  return Math.min(n - 1, Math.floor(Math.pow(u * (Math.pow(n + 1, a) - 1) + 1, 1 / a)) - 1);
}

const B32 = "abcdefghijklmnopqrstuvwxyz234567";
const S32 = "234567abcdefghijklmnopqrstuvwxyz";
/** A did:plc of 24 letters for account `n`. */
function did(n: number): string {
  let s = "";
  for (let i = 0; i < 24; i++) {
    s += B32[(Math.imul(n + 1, 2654435761 + i * 40503) >>> (i % 27)) & 31];
  }
  return `did:plc:${s}`;
}
/** A TID-shaped record key for the k-th block. */
function tid(k: number, at: number): string {
  let v = BigInt(at) * 1000n * 1024n + BigInt(k % 1024);
  let s = "";
  for (let i = 0; i < 13; i++, v >>= 5n) s = S32[Number(v & 31n)] + s;
  return s;
}

// Blocked accounts: one blocked by TOP, the rest of the edges spread over a long tail.
// Blockers: a heavy tail too, a few blocking thousands.
const TAIL_TARGETS = 200_000, BLOCKERS = 400_000;
const targetOf = (k: number) => k < TOP ? 0 : 1 + zipf(TAIL_TARGETS, 1.1);
// The TOP blockers of the most blocked account are distinct: the first TOP of the blockers'
// ranks, in a random order; everyone else's blockers come from the heavy tail.
const blockerOf = (k: number) =>
  TAIL_TARGETS + 1 + (k < TOP ? (k * 7919) % BLOCKERS : zipf(BLOCKERS, 0.9));

const server = await startRedisServer();
const redis = await connectRedis(server.url, { name: "bench-blocks" });
try {
  const applier = new Applier(redis, { retentionDays: 30, memoryHours: 48 });
  const start = Date.UTC(2026, 0, 1);
  const pairs = new Set<string>();
  let made = 0, batch: FirehoseEvent[] = [];
  const t0 = performance.now();
  for (let k = 0; made < EDGES; k++) {
    const s = targetOf(k), a = blockerOf(k);
    if (pairs.has(`${a} ${s}`)) continue;
    pairs.add(`${a} ${s}`);
    const time = start + Math.floor((made / EDGES) * 30 * 24) * HOUR_MS;
    batch.push({
      v: 1,
      kind: "commit",
      seq: made + 1,
      time,
      did: did(a),
      action: "create",
      collection: "app.bsky.graph.block",
      rkey: tid(made, time),
      subject: did(s),
    });
    made++;
    if (batch.length === 2000) {
      await applier.apply(batch);
      batch = [];
    }
  }
  if (batch.length) await applier.apply(batch);
  const writeSeconds = (performance.now() - t0) / 1000;

  const families = ["blocking", "blockedBy"] as const;
  const sums = Object.fromEntries(
    families.map((f) => [f, { small: 0, smallEntries: 0, large: 0, largeEntries: 0, keys: 0 }]),
  );
  for (const family of families) {
    const prefix = keyPrefix(family);
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
      cursor = next;
      if (keys.length === 0) continue;
      const pipe = redis.pipeline();
      for (const key of keys) {
        pipe.call("MEMORY", "USAGE", key, "SAMPLES", "0");
        pipe.object("ENCODING", key);
        pipe.zcard(key);
      }
      const rows = (await pipe.exec())!;
      for (let i = 0; i < keys.length; i++) {
        const bytes = Number(rows[3 * i][1]), encoding = String(rows[3 * i + 1][1]);
        const entries = Number(rows[3 * i + 2][1]);
        const sum = sums[family];
        sum.keys++;
        if (encoding === "listpack") {
          sum.small += bytes;
          sum.smallEntries += entries;
        } else {
          sum.large += bytes;
          sum.largeEntries += entries;
        }
      }
    } while (cursor !== "0");
  }
  const perEdge = (bytes: number) => bytes / EDGES;
  const total = families.reduce((n, f) => n + sums[f].small + sums[f].large, 0);
  console.log(
    `${EDGES.toLocaleString("en")} block edges (one account blocked by ${
      TOP.toLocaleString("en")
    }), written in ${writeSeconds.toFixed(1)} s`,
  );
  console.log("family        keys      compact keys: B/entry   large keys: B/entry   B/edge");
  for (const f of families) {
    const s = sums[f];
    const name = `${keyPrefix(f).slice(0, -1)} (${f})`;
    console.log(
      `${name.padEnd(22)} ${String(s.keys).padStart(7)}   ${
        (s.small / Math.max(1, s.smallEntries)).toFixed(1).padStart(8)
      } (${s.smallEntries} entries)   ${
        (s.large / Math.max(1, s.largeEntries)).toFixed(1).padStart(8)
      } (${s.largeEntries} entries)   ${perEdge(s.small + s.large).toFixed(1)}`,
    );
  }
  console.log(`both directions: ${perEdge(total).toFixed(1)} bytes per block edge`);
  console.log(
    `a network of ${NETWORK.toLocaleString("en")} edges of this shape: ${
      ((perEdge(total) * NETWORK) / 2 ** 30).toFixed(2)
    } GiB`,
  );
  // The largest list, read as the API reads it: its first page and its counts.
  const target = did(0);
  const id = (await idOf(redis, target))!;
  const bytesTop = Number(
    await redis.call("MEMORY", "USAGE", storeKeys.blockedBy(id), "SAMPLES", "0"),
  );
  const timed = async () => {
    const t = performance.now();
    const page = await blockPage(redis, target, { direction: "blocked-by", limit: 50 });
    return { page, ms: performance.now() - t };
  };
  await timed(); // the first call loads the script
  const { page, ms } = await timed();
  console.log(
    `the account blocked by ${page.counts.blockedBy.toLocaleString("en")}: its bi: key ${
      (bytesTop / 2 ** 20).toFixed(1)
    } MiB (${
      (bytesTop / page.counts.blockedBy).toFixed(1)
    } B/entry); a page of 50 with both counts in ${ms.toFixed(1)} ms`,
  );

  // An account that blocks DELETED others is deleted: Redis's own time for its calls.
  const blocker = did(10_000_000);
  for (let k = 0; k < DELETED; k += 2000) {
    await applier.apply(
      Array.from({ length: Math.min(2000, DELETED - k) }, (_, i): FirehoseEvent => ({
        v: 1,
        kind: "commit",
        seq: EDGES + k + i + 1,
        time: start,
        did: blocker,
        action: "create",
        collection: "app.bsky.graph.block",
        rkey: tid(k + i, start + Math.floor((k + i) / 1024)),
        subject: did(20_000_000 + k + i),
      })),
    );
  }
  const d0 = performance.now();
  const deletion = await scriptTime(redis, () =>
    applier.apply([{
      v: 1,
      kind: "account",
      seq: EDGES + DELETED + 1,
      time: start + HOUR_MS,
      did: blocker,
      active: false,
      status: "deleted",
    }]));
  const deleteMs = performance.now() - d0;
  const { longestMs, totalMs: redisMs } = deletion;
  console.log(
    `deleting an account that blocks ${DELETED.toLocaleString("en")}: longest Redis call ${
      longestMs.toFixed(1)
    } ms, ${deletion.calls} calls, ${redisMs.toFixed(0)} ms of Redis in all, ${
      deleteMs.toFixed(0)
    } ms until apply() returned`,
  );

  // The most blocked account, deleted, then idle through the retention: the sweep lets it go.
  await applier.apply([{
    v: 1,
    kind: "account",
    seq: EDGES + DELETED + 2,
    time: start + HOUR_MS,
    did: target,
    active: false,
    status: "deleted",
  }]);
  const blockers = await redis.zcard(storeKeys.blockedBy(id));
  // Its own follows and blocks set expires with the retention (by Redis's clock, not this one).
  await redis.del(storeKeys.graph(id));
  const g0 = performance.now();
  let pruned = 0;
  const letGo = await scriptTime(redis, async () => {
    pruned = await pruneIdleProfiles(redis, [id], { retentionDays: 30, now: start + 60 * DAY_MS });
  });
  const letGoMs = performance.now() - g0;
  if (
    pruned !== 1 || await redis.exists(storeKeys.blockedBy(id)) !== 0 ||
    await redis.zscore(storeKeys.goneIds, String(id)) === null
  ) {
    throw new Error("The deleted account was not let go");
  }
  console.log(
    `letting a deleted account blocked by ${
      blockers.toLocaleString("en")
    } go (${UNBLOCK_STEP} blockers a call): longest Redis call ${
      letGo.longestMs.toFixed(1)
    } ms, ${letGo.calls} calls, ${letGo.totalMs.toFixed(0)} ms of Redis in all, ${
      letGoMs.toFixed(0)
    } ms in all`,
  );
  console.log(JSON.stringify({
    bench: "blocks",
    edges: EDGES,
    bytesPerEdge: perEdge(total),
    networkGiB: (perEdge(total) * NETWORK) / 2 ** 30,
    topPageMs: ms,
    deletion: {
      blocks: DELETED,
      longestCallMs: longestMs,
      calls: deletion.calls,
      redisMs,
      deleteMs,
    },
    letGo: {
      blockers,
      longestCallMs: letGo.longestMs,
      calls: letGo.calls,
      redisMs: letGo.totalMs,
      ms: letGoMs,
    },
  }));
} finally {
  redis.disconnect();
  await server[Symbol.asyncDispose]();
}
