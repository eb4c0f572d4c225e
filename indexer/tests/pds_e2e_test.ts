/**
 * The store against a real local PDS: a scripted workload goes through the real firehose
 * and indexer, and every query answer must equal the ground truth computed from the
 * workload itself, for several windows and every direction.
 */
import assert from "node:assert/strict";
import { PdsClient } from "@bsky/shared/testing/pds_client";
import { settled } from "@bsky/shared/testing/settled";
import { runWorkload } from "@bsky/shared/testing/workload";
import { type Direction, profiles, searchHandles, topInteractions } from "@bsky/store/queries";
import { startChain } from "../testing/chain.ts";
import { computeTruth, expectedTop } from "@bsky/store/testing/truth";

Deno.test("query answers equal the workload's ground truth, for every window and direction", async () => {
  await using chain = await startChain();
  const { pds, indexer } = chain;
  const { truth: events, accounts } = await runWorkload(pds.pdsUrl, pds.adminPassword);
  // One more account hidden at the end: a takedown.
  const client = new PdsClient(pds.pdsUrl, { adminPassword: pds.adminPassword });
  await client.takedown(accounts.dave.did);
  events.push({ kind: "account", did: accounts.dave.did, active: false, status: "takendown" });
  const truth = computeTruth(events);
  const redis = indexer.redis;
  const dids = Object.values(accounts).map((a) => a.did);
  await settled(async () => {
    for (const did of dids) {
      for (const direction of ["sent", "received", "both", "mutual"] as Direction[]) {
        for (const windowHours of [1, 24, 24 * 7]) {
          const got = await topInteractions(redis, did, {
            direction,
            windowHours,
            limit: 100,
            now: Date.now(),
          });
          const want = expectedTop(truth, did, direction);
          const label = `${direction} ${windowHours}h of ${did}`;
          assert.deepEqual(
            new Map((got ?? []).map(({ did, ...counts }) => [did, counts])),
            want,
            label,
          );
          const scores = (got ?? []).map((c) => c.score);
          assert.deepEqual(scores, [...scores].sort((a, b) => b - a), `${label} is ranked`);
        }
      }
    }
  });
  // Anti-vacuity: the workload did produce interactions of every type.
  const all = [...truth.sent.values()].flatMap((m) => [...m.values()]);
  for (const t of ["like", "reply", "quote", "mention"] as const) {
    assert.ok(all.some((c) => c[t] > 0), `some ${t}`);
  }
  const [bob] = await profiles(redis, [accounts.bob.did]);
  assert.equal(bob.handle, "robert.test");
  assert.deepEqual(await searchHandles(redis, "rob"), [{
    handle: "robert.test",
    did: accounts.bob.did,
  }]);
  const [alice] = await profiles(redis, [accounts.alice.did]);
  assert.equal(alice.displayName, "Alice");
  assert.deepEqual(await searchHandles(redis, "dave"), [], "a taken-down account is not found");
});
