/**
 * The live figures on a real local Redis Cluster (3 masters, 3 replicas): each partition's
 * stream is in a slot of its own, the partitions on several masters, and the figures count
 * the events of every one.
 */
import assert from "node:assert/strict";
import { encodeEvent, EVENT_VERSION } from "@bsky/shared/events";
import { firehoseKeys } from "@bsky/shared/keys";
import { created } from "@bsky/shared/testing/events";
import { startRedisCluster } from "@bsky/shared/testing/redis_cluster";
import { LIVE_WINDOW_MS, liveFigures } from "../live.ts";

const PARTITIONS = 4;

Deno.test("liveFigures() on a Redis Cluster counts the events of every partition, on several masters", async () => {
  await using cluster = await startRedisCluster();
  const redis = await cluster.connect();
  try {
    const streams = firehoseKeys.streams(PARTITIONS);
    const masters = new Set(await Promise.all(streams.map((s) => cluster.masterOf(s))));
    assert.ok(masters.size >= 2, `the partitions are on ${masters.size} masters`);
    const t = 1_800_000_000_000;
    // Partition p: 3 + p events in the last minute from its own account, one post among them
    // (in English on even partitions), and one from long before.
    let posts = 0, english = 0, events = 0;
    for (let p = 0; p < PARTITIONS; p++) {
      const did = `did:plc:${String(p).repeat(24)}`;
      const old = created(did, "app.bsky.feed.like", "old", { subject: did }, t - 3_600_000);
      await redis.xadd(
        streams[p],
        `${t - 3_600_000}-0`,
        "v",
        String(EVENT_VERSION),
        "e",
        encodeEvent(old),
      );
      for (let k = 0; k < 3 + p; k++) {
        const ms = t - 50_000 + k * 1000 + p;
        const post = k === 0;
        const e = post
          ? created(did, "app.bsky.feed.post", `r${k}`, { langs: p % 2 ? ["de"] : ["en"] }, ms)
          : created(did, "app.bsky.feed.like", `r${k}`, { subject: did }, ms);
        await redis.xadd(streams[p], `${ms}-0`, "v", String(EVENT_VERSION), "e", encodeEvent(e));
        events++;
        if (post) (posts++, english += p % 2 ? 0 : 1);
      }
    }
    const minute = LIVE_WINDOW_MS / 1000;
    const live = await liveFigures(redis, PARTITIONS, t);
    assert.equal(live.sampledEvents, events, "every partition's events of the minute");
    assert.ok(Math.abs(live.eventsPerSecond - events / minute) < 1e-9, `${live.eventsPerSecond}`);
    assert.ok(Math.abs(live.postsPerSecond - posts / minute) < 1e-9);
    assert.ok(
      Math.abs(live.byCollection["app.bsky.feed.like"] - (events - posts) / minute) < 1e-9,
    );
    assert.equal(live.activeAccounts, PARTITIONS);
    // The newest event: partition 3's last, 50 s - 5 s - 3 ms before now.
    assert.equal(live.lagSeconds, (50_000 - 5 * 1000 - 3) / 1000);
    const en = live.postLanguages.find((l) => l.lang === "en");
    assert.equal(en?.share, english / posts);
  } finally {
    redis.disconnect();
  }
});
