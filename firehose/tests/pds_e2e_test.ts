/**
 * End to end against a real local Bluesky PDS (npm:@atproto/dev-env): exactly the expected
 * normalized events land in Redis, in order per author.
 */
import assert from "node:assert/strict";
import type { FirehoseEvent } from "@bsky/shared/events";
import { firehoseKeys } from "@bsky/shared/keys";
import { startPds } from "@bsky/shared/testing/pds";
import { startRedisServer } from "@bsky/shared/testing/redis_server";
import { runWorkload, type TruthEvent } from "@bsky/shared/testing/workload";
import { readStreams, startTestFirehose, waitFor } from "../testing/helpers.ts";

function byAuthor<T extends { did: string }>(events: T[]): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const e of events) out.set(e.did, [...out.get(e.did) ?? [], e]);
  return out;
}

for (const verify of [false, true]) {
  const mode = verify ? "verified path (signatures checked against the local PLC)" : "fast path";
  Deno.test(`a real PDS's firehose yields exactly the workload's events, in order per author: ${mode}`, async () => {
    await using pds = await startPds();
    await using redisServer = await startRedisServer();
    const { service } = await startTestFirehose(redisServer.url, pds.firehoseUrl, {
      FIREHOSE_PARTITIONS: "3",
      FIREHOSE_VERIFY: String(verify),
      FIREHOSE_PLC_URL: pds.plcUrl,
    });
    try {
      const { truth, startedAt } = await runWorkload(pds.pdsUrl, pds.adminPassword);
      const keys = firehoseKeys.streams(3);
      let events: FirehoseEvent[] = [];
      await waitFor("every expected event", async () => {
        events = await readStreams(service.redis, keys);
        return events.length >= truth.length;
      }, 30_000).catch((err) => {
        console.error(
          JSON.stringify(events.map(({ seq: _s, time: _t, v: _v, ...e }) => e), null, 1),
        );
        throw err;
      });
      const now = Date.now();
      for (const e of events) {
        assert.ok(e.time >= startedAt - 1000 && e.time <= now, "event time is the commit's time");
      }
      const got = byAuthor(
        events.map(({ v: _v, seq: _s, time: _t, ...rest }) => rest as TruthEvent),
      );
      // Verified mode checks each handle against DNS or the handle's host, which .test
      // handles cannot pass: the identity event is kept without the unverified handle.
      const want = byAuthor(
        verify ? truth.map((e) => e.kind === "identity" ? { kind: e.kind, did: e.did } : e) : truth,
      );
      assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort());
      for (const [did, list] of want) assert.deepEqual(got.get(did), list, `events of ${did}`);
      // Per author, seqs rise: the stream keeps each author's order.
      for (const list of byAuthor(events).values()) {
        for (let i = 1; i < list.length; i++) assert.ok(list[i].seq > list[i - 1].seq);
      }
      // Each author's events live in exactly one partition.
      const perKey = await Promise.all(keys.map((k) => readStreams(service.redis, [k])));
      for (const did of want.keys()) {
        assert.equal(perKey.filter((evs) => evs.some((e) => e.did === did)).length, 1);
      }
    } finally {
      await service.stop();
    }
  });
}
