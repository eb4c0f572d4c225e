/**
 * Profile upkeep against the real identity network: a local PLC and PDS hold accounts
 * whose handles and profiles the store has wrong or not at all; one run fixes exactly
 * those it may within its request budget, and never overrides what the firehose wrote.
 */
import assert from "node:assert/strict";
import type { FirehoseEvent } from "@bsky/shared/events";
import { jobKeys } from "@bsky/shared/keys";
import { connectRedis } from "@bsky/shared/redis";
import { startPds } from "@bsky/shared/testing/pds";
import { PdsClient } from "@bsky/shared/testing/pds_client";
import { startRedisServer } from "@bsky/shared/testing/redis_server";
import { Applier } from "@bsky/store/apply";
import { profiles } from "@bsky/store/queries";
import { refreshProfiles } from "../jobs/profiles.ts";

Deno.test("profile upkeep takes handles and profiles from the identity network, within its budget", async () => {
  await using pds = await startPds();
  await using server = await startRedisServer();
  const redis = await connectRedis(server.url, { name: "test" });
  try {
    const client = new PdsClient(pds.pdsUrl, { adminPassword: pds.adminPassword });
    const [ann, ben, cat] = [
      await client.createAccount("ann"),
      await client.createAccount("ben"),
      await client.createAccount("cat"),
    ];
    const annProfile = await ann.putProfile({ displayName: "Ann", avatar: true });
    await ben.putProfile({ displayName: "Ben" });
    // The store knows them with stale handles and no profiles, as after missed events.
    const applier = new Applier(redis, { retentionDays: 30, memoryHours: 48 });
    let seq = 0;
    const stale = (did: string, handle: string): FirehoseEvent => ({
      v: 1,
      kind: "identity",
      seq: ++seq,
      time: Date.now(),
      did,
      handle,
    });
    await applier.apply([
      stale(ann.did, "old-ann.test"),
      stale(ben.did, "old-ben.test"),
      stale(cat.did, "old-cat.test"),
    ]);
    for (const [k, a] of [ann, ben, cat].entries()) {
      await redis.zadd(jobKeys.lookedUp, 1000 + k, a.did);
    }
    const options = {
      plcUrl: pds.plcUrl,
      handleResolverUrl: pds.pdsUrl,
      maxAgeHours: 24,
      now: Date.now(),
      // The local PDS is on loopback.
      allowPrivate: true,
    };
    // Three requests an account: room for two (cat, then ben: the newest look-ups first).
    const first = await refreshProfiles(redis, {
      ...options,
      budget: 6,
      // The firehose reports a new name for ben while his check is in flight.
      beforeWrite: async (did) => {
        if (did !== ben.did) return;
        await applier.apply([{
          v: 1,
          kind: "commit",
          seq: ++seq,
          time: Date.now(),
          did: ben.did,
          action: "update",
          collection: "app.bsky.actor.profile",
          rkey: "self",
          displayName: "Ben from the firehose",
        }]);
      },
    });
    assert.equal(first.checked, 2);
    assert.ok(first.requests <= 6);
    const [a1, b1, c1] = await profiles(redis, [ann.did, ben.did, cat.did]);
    assert.equal(a1.handle, "old-ann.test", "over the budget: not checked yet");
    assert.equal(b1.handle, ben.handle);
    assert.equal(b1.displayName, "Ben from the firehose", "the firehose's newer name stays");
    assert.equal(c1.handle, cat.handle);
    assert.equal(c1.displayName, undefined, "cat has no profile record");

    // The next run checks ann; the two checked accounts are not asked again.
    const second = await refreshProfiles(redis, { ...options, budget: 6 });
    assert.equal(second.checked, 1);
    const [a2] = await profiles(redis, [ann.did]);
    assert.deepEqual(a2, {
      did: ann.did,
      handle: ann.handle,
      displayName: "Ann",
      avatar: annProfile.avatar,
    });
    assert.equal((await refreshProfiles(redis, { ...options, budget: 6 })).checked, 0);

    // Where private hosts are refused (the default), a DID document naming a PDS on loopback
    // gets no request: the handle is still checked, the profile is not read.
    const dee = await client.createAccount("dee");
    await dee.putProfile({ displayName: "Dee" });
    await applier.apply([stale(dee.did, "old-dee.test")]);
    await redis.zadd(jobKeys.lookedUp, 2000, dee.did);
    const refused = await refreshProfiles(redis, { ...options, allowPrivate: false, budget: 6 });
    assert.equal(refused.checked, 1);
    assert.equal(refused.unreachable, 1);
    const [d] = await profiles(redis, [dee.did]);
    assert.equal(d.handle, dee.handle);
    assert.equal(d.displayName, undefined);
  } finally {
    redis.disconnect();
  }
});
