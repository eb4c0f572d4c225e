import assert from "node:assert/strict";
import type { FirehoseEvent } from "@bsky/shared/events";
import { Buffer } from "node:buffer";
import { keySlot } from "@bsky/shared/cluster";
import { recordArg, rkeyField } from "./apply.ts";
import { recordTag } from "./record_arg.ts";
import { OPTED_OUT, profiles, searchHandles, totals } from "./queries.ts";
import { HOUR_MS, storeKeys } from "./layout.ts";
import { A, B, C, create, del, like, nextSeq, T0, top, withStore } from "./testing/fixtures.ts";

Deno.test("apply() counts each interaction once in both directions, whatever the redelivery", async () => {
  await withStore(async (redis, applier) => {
    const events = [like(A, "l1", B), like(A, "l2", B), like(A, "l3", A), like(C, "l4", B)];
    assert.deepEqual(await applier.apply(events), {
      applied: 3,
      duplicate: 0,
      unmatched: 0,
      late: 0,
    });
    const again = await applier.apply(events);
    assert.equal(again.applied, 0);
    assert.equal(again.duplicate, 3);
    assert.deepEqual(await top(redis, A, "sent"), [
      { did: B, like: 2, repost: 0, reply: 0, quote: 0, mention: 0, score: 2 },
    ]);
    const received = await top(redis, B, "received");
    assert.deepEqual(received?.map((c) => [c.did, c.like]), [[A, 2], [C, 1]]);
    assert.deepEqual(await totals(redis, A, 24, T0), {
      sent: { like: 2, repost: 0, reply: 0, quote: 0, mention: 0, block: 0 },
      received: { like: 0, repost: 0, reply: 0, quote: 0, mention: 0, block: 0 },
    });
  });
});

Deno.test("a delete takes back exactly what its create added, once", async () => {
  await withStore(async (redis, applier) => {
    const post = create(A, "app.bsky.feed.post", "p1", {
      parent: B,
      root: B,
      quote: C,
      mentions: [B, C, A],
      chars: 10,
    });
    await applier.apply([post, like(A, "l1", B)]);
    const before = await top(redis, A, "sent");
    assert.deepEqual(before?.map((c) => [c.did, c.like, c.reply, c.quote, c.mention]), [
      [B, 1, 1, 0, 1],
      [C, 0, 0, 1, 1],
    ]);
    const unpost = del(A, "app.bsky.feed.post", "p1", T0 + HOUR_MS);
    assert.equal((await applier.apply([unpost])).applied, 1);
    assert.equal((await applier.apply([unpost])).duplicate, 1, "a delete delivered again");
    assert.equal(
      (await applier.apply([post])).duplicate,
      1,
      "a create delivered again after its delete",
    );
    assert.deepEqual(
      (await top(redis, A, "sent", 48, T0 + HOUR_MS))?.map((c) => [c.did, c.like, c.reply]),
      [[B, 1, 0]],
    );
    assert.deepEqual(await top(redis, C, "received", 48, T0 + HOUR_MS), []);
  });
});

Deno.test("a delete after the record memory is counted as late and applied nowhere", async () => {
  await withStore(async (redis, applier) => {
    await applier.apply([like(A, "l1", B)]);
    const stats = await applier.apply([del(A, "app.bsky.feed.like", "l1", T0 + 49 * HOUR_MS)]);
    assert.equal(stats.late, 1);
    assert.equal(stats.applied, 0);
    const unknown = await applier.apply([del(A, "app.bsky.feed.like", "never")]);
    assert.equal(unknown.unmatched, 1);
    assert.equal((await top(redis, A, "sent", 72, T0 + 49 * HOUR_MS))?.[0].like, 1);
  });
});

Deno.test("an update takes back the old targets and counts the new ones, idempotently", async () => {
  await withStore(async (redis, applier) => {
    const base = {
      v: 1 as const,
      kind: "commit" as const,
      did: A,
      collection: "app.bsky.feed.post" as const,
      rkey: "p1",
      chars: 3,
    };
    await applier.apply([{ ...base, seq: 1, time: T0, action: "create", mentions: [B] }]);
    const update: FirehoseEvent = { ...base, seq: 2, time: T0, action: "update", mentions: [C] };
    await applier.apply([update]);
    await applier.apply([update]);
    assert.deepEqual((await top(redis, A, "sent"))?.map((c) => [c.did, c.mention]), [[C, 1]]);
  });
});

Deno.test("accounts that are deleted, taken down or deactivated disappear, and come back when active", async () => {
  await withStore(async (redis, applier) => {
    await applier.apply([like(A, "l1", B), like(C, "l2", A), like(A, "l3", C)]);
    // A's likes sent and received: its totals leave hidden counterparts out too.
    const likes = async () => {
      const t = await totals(redis, A, 24, T0);
      return [t?.sent.like, t?.received.like];
    };
    await applier.apply([{
      v: 1,
      kind: "account",
      seq: 100,
      time: T0,
      did: B,
      active: false,
      status: "deactivated",
    }]);
    assert.deepEqual((await top(redis, A, "sent"))?.map((c) => c.did), [C]);
    assert.deepEqual(await likes(), [1, 1]);
    await applier.apply([{ v: 1, kind: "account", seq: 99, time: T0, did: B, active: true }]);
    assert.deepEqual(
      (await top(redis, A, "sent"))?.map((c) => c.did),
      [C],
      "an older event changes nothing",
    );
    await applier.apply([{ v: 1, kind: "account", seq: 101, time: T0, did: B, active: true }]);
    assert.deepEqual((await top(redis, A, "sent"))?.map((c) => c.did).sort(), [B, C]);
    assert.deepEqual(await likes(), [2, 1]);
    await applier.apply([{
      v: 1,
      kind: "account",
      seq: 102,
      time: T0,
      did: C,
      active: false,
      status: "takendown",
    }]);
    assert.deepEqual((await top(redis, A, "both"))?.map((c) => c.did), [B]);
    assert.deepEqual(await likes(), [1, 0]);
  });
});

Deno.test("a posted opt code hides or shows its account, once, and only for the account it was made for", async () => {
  await withStore(async (redis, applier) => {
    await applier.apply([like(A, "l1", B), like(C, "l2", B), like(B, "l3", A)]);
    await applier.apply([{
      v: 1,
      kind: "identity",
      seq: nextSeq(),
      time: T0,
      did: A,
      handle: "al.test",
    }]);
    const code = (action: string, did: string, c: string) =>
      redis.set(storeKeys.optCode(c), `${did} ${action}`, "EX", 3600);
    const post = (did: string, rkey: string, opt: string) =>
      create(did, "app.bsky.feed.post", rkey, { chars: 20, opt });
    const receivers = async () => (await top(redis, B, "received"))?.map((c) => c.did).sort();
    await code("out", A, "AAAAAAAA");
    // C posts A's code: nothing happens.
    assert.equal((await applier.apply([post(C, "p1", "out:AAAAAAAA")])).unmatched, 1);
    assert.deepEqual(await receivers(), [A, C]);
    // A posts it (as a reply, which counts too): A is hidden everywhere.
    const reply = create(A, "app.bsky.feed.post", "p2", {
      chars: 20,
      opt: "out:AAAAAAAA",
      parent: B,
      root: B,
    });
    await applier.apply([reply]);
    assert.equal(await redis.get(storeKeys.optCode("AAAAAAAA")), `done ${A} out`);
    assert.ok(await redis.ttl(storeKeys.optCode("AAAAAAAA")) > 0, "the code still expires");
    assert.deepEqual(await receivers(), [C]);
    assert.equal((await profiles(redis, [A]))[0].status, OPTED_OUT);
    assert.deepEqual(await searchHandles(redis, "al", 10), []);
    assert.deepEqual((await top(redis, C, "both"))?.map((c) => c.did), [B]);
    // Redelivered, the post is not counted twice and the used code changes nothing.
    assert.equal((await applier.apply([reply])).unmatched, 1);
    assert.deepEqual(
      (await top(redis, B, "received"))?.map((c) => [c.did, c.reply]),
      [[C, 0]],
    );
    // The account deactivates and comes back: it stays opted out.
    const account = (active: boolean) =>
      ({ v: 1, kind: "account", seq: nextSeq(), time: T0, did: A, active }) as FirehoseEvent;
    await applier.apply([account(false), account(true)]);
    assert.deepEqual(await receivers(), [C]);
    assert.equal((await profiles(redis, [A]))[0].status, OPTED_OUT);
    // An opt-in code made for A, posted by A: shown again, with the reply counted once.
    await code("in", A, "BBBBBBBB");
    assert.equal((await applier.apply([post(A, "p3", "in:AAAAAAAA")])).unmatched, 1);
    await applier.apply([post(A, "p4", "in:BBBBBBBB")]);
    assert.deepEqual(await receivers(), [A, C]);
    assert.deepEqual((await top(redis, B, "received"))?.map((c) => [c.did, c.reply]), [
      [A, 1],
      [C, 0],
    ]);
    assert.equal((await profiles(redis, [A]))[0].status, "active");
    assert.deepEqual((await searchHandles(redis, "al", 10)).map((h) => h.did), [A]);
    // A code made for "in" does not hide.
    await code("in", A, "CCCCCCCC");
    await applier.apply([post(A, "p5", "out:CCCCCCCC")]);
    assert.deepEqual(await receivers(), [A, C]);
  });
});

Deno.test("rkeyField() packs a TID into 8 bytes and keeps other keys apart", () => {
  const a = rkeyField("3jzfcijpj2z2a"), b = rkeyField("3jzfcijpj2z2b");
  assert.equal(a.length, 8);
  assert.notDeepEqual(a, b);
  assert.ok(a[0] < 0x80);
  assert.ok(Buffer.compare(a, b) < 0, "the order of TIDs is kept");
  assert.deepEqual([...rkeyField("self")], [0xff, ...new TextEncoder().encode("self")]);
});

Deno.test("recordArg() carries the field's hash, the hour, the author's record tag on a Cluster, the field and the pairs", () => {
  const pairs = Buffer.of(0x10, 0, 0, 9);
  const like = "app.bsky.feed.like", post = "app.bsky.feed.post";
  const author = 0x01020304;
  // The like collection's code (1) is in the top 4 bits of the author's id.
  const field = [0x11, 2, 3, 4, ...rkeyField("3jzfcijpj2z2a")];
  let h = 0x811c9dc5;
  for (const b of field) h = Math.imul(h ^ b, 0x01000193);
  // On one server, no tag; on a Cluster, one of the author's slot's own, so that its
  // records are kept in its slot.
  const tag = recordTag(author);
  assert.equal(keySlot(storeKeys.slotRecords(tag, 1, 0)), keySlot(storeKeys.log(author, 1)));
  for (const bySlot of [false, true]) {
    const arg = recordArg(author, like, "3jzfcijpj2z2a", 490_000, pairs, bySlot);
    const t = bySlot ? tag : "";
    assert.equal(arg.readUInt32BE(0), h >>> 0);
    assert.equal(arg.readUInt32BE(4), 490_000);
    assert.equal(arg[8], t.length);
    assert.equal(arg.subarray(9, 9 + t.length).toString("latin1"), t);
    const at = 9 + t.length;
    assert.equal(arg[at], 12);
    assert.deepEqual([...arg.subarray(at + 1, at + 13)], field);
    assert.deepEqual([...arg.subarray(at + 13)], [...pairs]);
  }
  assert.equal(recordArg(author, like, "3jzfcijpj2z2a", 1).readUInt32BE(0), h >>> 0);
  assert.notDeepEqual(
    recordArg(author, post, "3jzfcijpj2z2a", 1).subarray(9),
    recordArg(author, like, "3jzfcijpj2z2a", 1).subarray(9),
    "the same key in two collections is two records",
  );
  const other = recordArg(7, post, "self", 1);
  assert.equal(other[8], 0);
  assert.equal(other[9], 9);
  assert.deepEqual([...other.subarray(10)], [
    0x30,
    0,
    0,
    7,
    0xff,
    ...new TextEncoder().encode("self"),
  ]);
});

Deno.test("the same record key in two collections makes two records", async () => {
  await withStore(async (redis, applier) => {
    const repost = create(A, "app.bsky.feed.repost", "3kaaaaaaaaaa7", { subject: B });
    assert.equal((await applier.apply([like(A, "3kaaaaaaaaaa7", B), repost])).applied, 2);
    assert.equal((await applier.apply([del(A, "app.bsky.feed.like", "3kaaaaaaaaaa7")])).applied, 1);
    assert.deepEqual(
      (await top(redis, A, "sent"))?.map((c) => [c.like, c.repost]),
      [[0, 1]],
    );
  });
});

Deno.test("every key the applier writes expires, also for events older than the record memory", async () => {
  await withStore(async (redis, applier) => {
    const old = T0 - 72 * HOUR_MS;
    await applier.apply([like(A, "3kbbbbbbbbbb2", B), like(A, "3kbbbbbbbbbb3", C, old)]);
    await applier.apply([
      like(C, "3kbbbbbbbbbb4", B, old),
      del(A, "app.bsky.feed.like", "3kbbbbbbbbbb3", old),
    ]);
    const keys = await redis.keys("*");
    assert.ok(keys.some((k) => k.startsWith("r:")), "records are remembered");
    for (const key of keys) {
      if (/^(ids|p|hx|rb|hidden):/.test(key)) continue;
      assert.ok(await redis.ttl(key) > 0, `${key} expires`);
    }
  });
});

Deno.test("opening a span makes only the buckets its records land in, whatever its bucket count", async () => {
  await withStore(async (redis, applier) => {
    const span = Math.floor(T0 / HOUR_MS / 8);
    // The span before held what a span of the whole network holds: 131,072 buckets now.
    await redis.hset(storeKeys.recordBuckets, `n${span - 1}`, 6_500_000);
    await applier.apply([like(A, "3kcccccccccc2", B), like(C, "3kcccccccccc3", B)]);
    assert.equal(await redis.hget(storeKeys.recordBuckets, String(span)), "131072");
    const buckets = await redis.keys("r:*");
    assert.equal(buckets.length, 2, "a bucket for each record, none made ahead");
    for (const key of buckets) {
      assert.equal(await redis.hlen(key), 1, `${key} holds its record only`);
      const ttl = await redis.ttl(key);
      assert.ok(ttl > 48 * 3600 && ttl <= 56 * 3600, `${key} expires with its span (${ttl} s)`);
    }
  });
});

Deno.test("a bucket emptied by an update and made again still expires", async () => {
  await withStore(async (redis, applier) => {
    const post = {
      v: 1 as const,
      kind: "commit" as const,
      did: A,
      rkey: "3kdddddddddd2",
      chars: 3,
    };
    const made = { ...post, collection: "app.bsky.feed.post" as const, time: T0 };
    await applier.apply([{ ...made, seq: nextSeq(), action: "create", mentions: [B] }]);
    const [key] = await redis.keys("r:*");
    // The update takes the record out of its bucket (its only field) and puts it back.
    await applier.apply([{ ...made, seq: nextSeq(), action: "update", mentions: [C] }]);
    assert.deepEqual(await redis.keys("r:*"), [key]);
    assert.equal(await redis.hlen(key), 1);
    assert.ok(await redis.ttl(key) > 0, "the bucket made again expires");
    assert.deepEqual((await top(redis, A, "sent"))?.map((c) => [c.did, c.mention]), [[C, 1]]);
  });
});
