import assert from "node:assert/strict";
import type { FirehoseEvent } from "@bsky/shared/events";
import { keySlot } from "@bsky/shared/cluster";
import { connectRedis, type Redis } from "@bsky/shared/redis";
import { startRedisCluster } from "@bsky/shared/testing/redis_cluster";
import { startRedisServer } from "@bsky/shared/testing/redis_server";
import { Applier } from "./apply.ts";
import { ClusterApplier } from "./cluster_apply.ts";
import { storeKeys } from "./layout.ts";
import {
  didOfHandle,
  profiles,
  profileVersion,
  searchHandles,
  writeCheckedProfile,
} from "./profiles.ts";
import * as fx from "./testing/fixtures.ts";

const A = "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa";
const identity = (seq: number, handle: string): FirehoseEvent => ({
  v: 1,
  kind: "identity",
  seq,
  time: Date.now(),
  did: A,
  handle,
});
const profile = (seq: number, displayName: string): FirehoseEvent => ({
  v: 1,
  kind: "commit",
  seq,
  time: Date.now(),
  did: A,
  action: "update",
  collection: "app.bsky.actor.profile",
  rkey: "self",
  displayName,
});

/**
 * Checked profiles against the firehose, on a server or a cluster: `apply` applies events as
 * the indexer there does.
 */
async function checkedProfiles(
  redis: Redis,
  apply: (events: FirehoseEvent[]) => Promise<unknown>,
): Promise<void> {
  await apply([identity(10, "old.test"), profile(11, "Old")]);
  assert.equal(await profileVersion(redis, "did:plc:bbbbbbbbbbbbbbbbbbbbbbbb"), undefined);

  const seen = (await profileVersion(redis, A))!;
  const found = { handle: "new.test", profile: { name: "New", avatar: "bafkreinew" } };
  assert.equal(await writeCheckedProfile(redis, seen, found), 2);
  assert.deepEqual(await profiles(redis, [A]), [
    { did: A, handle: "new.test", displayName: "New", avatar: "bafkreinew" },
  ]);
  assert.deepEqual(await searchHandles(redis, "new"), [{ handle: "new.test", did: A }]);
  assert.deepEqual(await searchHandles(redis, "old"), [], "the old handle left the index");
  assert.equal(await writeCheckedProfile(redis, seen, found), 0, "nothing new to write");

  // The firehose moves on while the identity network is asked: its handle stays.
  const before = (await profileVersion(redis, A))!;
  await apply([identity(12, "firehose.test")]);
  const stale = { handle: "stale.test", profile: { name: "Stale", avatar: "" } };
  assert.equal(await writeCheckedProfile(redis, before, stale), 1, "only the profile part");
  assert.deepEqual(await profiles(redis, [A]), [
    { did: A, handle: "firehose.test", displayName: "Stale" },
  ]);
  assert.deepEqual(await searchHandles(redis, "firehose"), [{ handle: "firehose.test", did: A }]);
  assert.equal(await didOfHandle(redis, "firehose.test"), A);
  // And the next firehose event overwrites what the check wrote.
  await apply([profile(13, "From the firehose")]);
  assert.equal((await profiles(redis, [A]))[0].displayName, "From the firehose");

  // An index entry that is not its account's handle (a race between the index and the
  // profile, written apart on a cluster) is found by no reader.
  const { id } = (await profileVersion(redis, A))!;
  await redis.zadd(storeKeys.handles, 0, `firehose.test.ghost\0${id}`);
  assert.deepEqual(await searchHandles(redis, "firehose"), [{ handle: "firehose.test", did: A }]);
  assert.equal(await didOfHandle(redis, "firehose.test.ghost"), undefined);
  // One that sorts before the account's own: the lookup goes past it.
  await redis.zadd(storeKeys.handles, 0, `firehose.test\0${"0".repeat(String(id).length)}`);
  assert.equal(await didOfHandle(redis, "firehose.test"), A);
}

Deno.test("checked profiles are written unless the firehose changed them meanwhile, and never win over it", async () => {
  await using server = await startRedisServer();
  const redis = await connectRedis(server.url, { name: "test" });
  try {
    const applier = new Applier(redis, { retentionDays: 30, memoryHours: 48 });
    await checkedProfiles(redis, (events) => applier.apply(events));
  } finally {
    redis.disconnect();
  }
});

Deno.test("on a Redis Cluster, checked profiles are written slot by slot, with the same answers", async () => {
  await using cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 0 });
  const redis = await cluster.connect();
  try {
    const applier = new ClusterApplier(
      redis,
      new Applier(redis, { retentionDays: 30, memoryHours: 48 }),
    );
    let n = 0;
    await checkedProfiles(redis, (events) => {
      const entries = events.map((event) => ({ id: `1-${++n}`, event }));
      return applier.apply(0, entries, {
        stream: "fh:{fh:0}:events",
        group: "indexer",
        entryIds: entries.map((e) => e.id),
      });
    });
    // The account's profile and the handle index are in different slots.
    const { id } = (await profileVersion(redis, A))!;
    assert.notEqual(keySlot(storeKeys.profile(id)), keySlot(storeKeys.handles));
  } finally {
    redis.disconnect();
  }
});

Deno.test("profiles and handles stay current, with a prefix index for typeahead", async () => {
  const { A, B, C, T0 } = fx;
  await fx.withStore(async (redis, applier) => {
    await applier.apply([
      { v: 1, kind: "identity", seq: 1, time: T0, did: A, handle: "alice.test" },
      {
        v: 1,
        kind: "commit",
        seq: 2,
        time: T0,
        did: A,
        action: "create",
        collection: "app.bsky.actor.profile",
        rkey: "self",
        displayName: "Alice",
        avatar: "bafkreia",
      },
      { v: 1, kind: "identity", seq: 3, time: T0, did: A, handle: "alicia.test" },
      { v: 1, kind: "identity", seq: 4, time: T0, did: B, handle: "alberto.test" },
    ]);
    assert.deepEqual(await profiles(redis, [A, C]), [
      { did: A, handle: "alicia.test", displayName: "Alice", avatar: "bafkreia" },
      { did: C },
    ]);
    assert.deepEqual(await searchHandles(redis, "al"), [
      { handle: "alberto.test", did: B },
      { handle: "alicia.test", did: A },
    ]);
    assert.deepEqual(await searchHandles(redis, "alice"), []);
  });
});

Deno.test("didOfHandle() finds the account a handle is current for, and nothing for a former one", async () => {
  const { A, B, T0 } = fx;
  await fx.withStore(async (redis, applier) => {
    await applier.apply([
      { v: 1, kind: "identity", seq: 1, time: T0, did: A, handle: "alice.test" },
      { v: 1, kind: "identity", seq: 2, time: T0, did: B, handle: "alice.test.example" },
      { v: 1, kind: "identity", seq: 3, time: T0, did: A, handle: "alicia.test" },
    ]);
    assert.equal(await didOfHandle(redis, "alicia.test"), A);
    assert.equal(await didOfHandle(redis, "alice.test.example"), B);
    assert.equal(await didOfHandle(redis, "alice.test"), undefined, "A's former handle");
    assert.equal(await didOfHandle(redis, "alic"), undefined, "a prefix is not a handle");
  });
});
