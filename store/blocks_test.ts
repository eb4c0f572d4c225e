import assert from "node:assert/strict";
import type { CommitWriteEvent, FirehoseEvent } from "@bsky/shared/events";
import type { Redis } from "@bsky/shared/redis";
import { type BlockCursor, type BlockDirection, blockPage } from "./blocks.ts";
import { idOf } from "./ids.ts";
import { HOUR_MS, storeKeys } from "./layout.ts";
import { writeCheckedProfile } from "./profiles.ts";
import { pruneIdleProfiles, pruneProfilesOnce, storeExpiry } from "./retention.ts";
import {
  A,
  account,
  applyCallOnly,
  B,
  block,
  C,
  like,
  T0,
  unblock,
  withStore,
} from "./testing/fixtures.ts";
import { tidOf as tid } from "./testing/generate.ts";
import { identity as identityAt } from "@bsky/shared/testing/events";

/** Every item of every page, following the cursors, and the counts of the first page. */
async function walk(redis: Redis, did: string, direction: BlockDirection, limit: number) {
  const seen: { did: string; since: number }[] = [];
  let cursor: BlockCursor | undefined;
  let pages = 0;
  const first = await blockPage(redis, did, { direction, limit });
  let page = first;
  for (;;) {
    pages++;
    assert.ok(page.items.length <= limit);
    seen.push(...page.items);
    if (!page.next) break;
    cursor = page.next;
    page = await blockPage(redis, did, { direction, limit, cursor });
  }
  return { seen, counts: first.counts, pages };
}

const dids = (items: { did: string }[]) => items.map((i) => i.did);

/** `n` DIDs: did:plc:<letter>00000 and on. */
const numberedDids = (letter: string, n: number) =>
  Array.from({ length: n }, (_, i) => `did:plc:${letter}${String(i).padStart(5, "0")}`);

/** Whom the account of id `id` blocks, as its set has it (ids, ascending). */
async function subjectIds(redis: Redis, id: number): Promise<number[]> {
  const flat = await redis.zrangebyscore(storeKeys.blocking(id), 0, "+inf", "WITHSCORES");
  const out: number[] = [];
  for (let i = 1; i < flat.length; i += 2) out.push(Number(flat[i]) % 2 ** 28);
  return out.sort((x, y) => x - y);
}

Deno.test("blocks are kept in both directions, newest first, with the minute each was made", async () => {
  await withStore(async (redis, applier) => {
    await applier.apply([
      block(A, tid(1), B, T0 - 5 * HOUR_MS),
      block(C, tid(2), B, T0 - 2 * HOUR_MS),
      block(A, "not-a-tid", C, T0 - HOUR_MS),
      block(A, tid(3), A), // blocking oneself is no block
    ]);
    const minute = (t: number) => Math.floor(t / 60_000) * 60_000;
    const byB = await blockPage(redis, B, { direction: "blocked-by", limit: 10 });
    assert.deepEqual(byB.items, [
      { did: C, since: minute(T0 - 2 * HOUR_MS) },
      { did: A, since: minute(T0 - 5 * HOUR_MS) },
    ]);
    assert.deepEqual(byB.counts, { blockedBy: 2, blocking: 0 });
    assert.equal(byB.next, undefined);
    const ofA = await blockPage(redis, A, { direction: "blocking", limit: 10 });
    assert.deepEqual(dids(ofA.items), [C, B]);
    assert.deepEqual(ofA.counts, { blockedBy: 0, blocking: 2 });
    // Within one hour, the minute orders them: Dan blocks B a few minutes after Carol.
    const D = "did:plc:dan";
    await applier.apply([block(D, tid(4), B, T0 - 2 * HOUR_MS + 7 * 60_000)]);
    assert.deepEqual(
      (await blockPage(redis, B, { direction: "blocked-by", limit: 2 })).items,
      [{ did: D, since: minute(T0 - 2 * HOUR_MS + 7 * 60_000) }, byB.items[0]],
    );
    await applier.apply([unblock(D, tid(4))]);
    // An account never seen has none.
    assert.deepEqual(
      await blockPage(redis, "did:plc:nobody", { direction: "blocking", limit: 5 }),
      {
        items: [],
        counts: { blockedBy: 0, blocking: 0 },
      },
    );
    // The same events again change nothing.
    await applier.apply([block(A, tid(1), B, T0 - 5 * HOUR_MS), block(C, tid(2), B)]);
    assert.deepEqual(await blockPage(redis, B, { direction: "blocked-by", limit: 10 }), byB);
  });
});

Deno.test("a block ends when its record is deleted, at any age: the record memory has long forgotten it", async () => {
  await withStore(async (redis, applier) => {
    await applier.apply([block(A, tid(1), B), block(C, "old", B)]);
    const later = T0 + 30 * 24 * HOUR_MS;
    const stats = await applier.apply([unblock(A, tid(1), later), unblock(C, "old", later)]);
    assert.equal(stats.applied, 2, "both found, past the record memory's 48 hours");
    assert.equal(stats.unmatched, 0);
    const page = await blockPage(redis, B, { direction: "blocked-by", limit: 10 });
    assert.deepEqual(page, { items: [], counts: { blockedBy: 0, blocking: 0 } });
    const a = (await idOf(redis, A))!;
    assert.equal(await redis.exists(storeKeys.blocking(a)), 0);
    // A delete delivered again, and a delete of a block never seen, end nothing.
    assert.equal((await applier.apply([unblock(A, tid(1), later)])).applied, 0);
    assert.equal((await applier.apply([unblock(A, tid(9), later)])).unmatched, 1);
  });
});

Deno.test("two records of one block: deleting either keeps it, deleting both ends it", async () => {
  await withStore(async (redis, applier) => {
    await applier.apply([block(A, tid(1), B, T0 - 3 * HOUR_MS), block(A, tid(2), B)]);
    const first = await blockPage(redis, B, { direction: "blocked-by", limit: 10 });
    assert.deepEqual(first.items, [{ did: A, since: T0 - 3 * HOUR_MS }]);
    assert.deepEqual(first.counts, { blockedBy: 1, blocking: 0 });
    assert.deepEqual((await blockPage(redis, A, { direction: "blocking", limit: 10 })).counts, {
      blockedBy: 0,
      blocking: 1,
    });
    await applier.apply([unblock(A, tid(1))]);
    const kept = await blockPage(redis, B, { direction: "blocked-by", limit: 10 });
    assert.deepEqual(kept.items, first.items, "blocked since the first record, still");
    await applier.apply([unblock(A, tid(2))]);
    assert.deepEqual((await blockPage(redis, B, { direction: "blocked-by", limit: 10 })).items, []);
    const a = (await idOf(redis, A))!;
    assert.equal(await redis.exists(storeKeys.blocking(a)), 0, "nothing left of them");
  });
});

Deno.test("an update that names another subject moves the block; one that names the same keeps its time", async () => {
  await withStore(async (redis, applier) => {
    await applier.apply([block(A, tid(1), B, T0 - 2 * HOUR_MS)]);
    const update = (subject: string, time: number): FirehoseEvent => ({
      ...(block(A, tid(1), subject, time) as CommitWriteEvent),
      action: "update",
    });
    await applier.apply([update(B, T0)]);
    assert.deepEqual((await blockPage(redis, B, { direction: "blocked-by", limit: 5 })).items, [
      { did: A, since: T0 - 2 * HOUR_MS },
    ]);
    await applier.apply([update(C, T0)]);
    assert.deepEqual((await blockPage(redis, B, { direction: "blocked-by", limit: 5 })).items, []);
    assert.deepEqual(dids((await blockPage(redis, A, { direction: "blocking", limit: 5 })).items), [
      C,
    ]);
    await applier.apply([unblock(A, tid(1), T0 + 100 * HOUR_MS)]);
    assert.deepEqual((await blockPage(redis, C, { direction: "blocked-by", limit: 5 })).items, []);
  });
});

Deno.test("hidden accounts are left out of the pages and the counts, and come back when shown again", async () => {
  await withStore(async (redis, applier) => {
    const D = "did:plc:dan", E = "did:plc:eve";
    await applier.apply([
      block(A, tid(1), B),
      block(C, tid(2), B),
      block(D, tid(3), B),
      block(B, tid(4), E),
      block(B, tid(5), C),
      account(C, false, "deactivated"),
    ]);
    // An opted-out account is hidden the same way (the apply script's opt codes set both).
    const e = (await idOf(redis, E))!;
    await redis.hset(storeKeys.profile(e), "optout", "1");
    await redis.sadd(storeKeys.hidden, e);
    const byB = await blockPage(redis, B, { direction: "blocked-by", limit: 10 });
    assert.deepEqual(dids(byB.items).sort(), [A, D].sort());
    assert.deepEqual(byB.counts, { blockedBy: 2, blocking: 0 });
    assert.deepEqual((await blockPage(redis, B, { direction: "blocking", limit: 10 })).items, []);
    await applier.apply([account(C, true)]);
    const again = await blockPage(redis, B, { direction: "blocking", limit: 10 });
    assert.deepEqual(dids(again.items), [C]);
    assert.deepEqual(again.counts, { blockedBy: 3, blocking: 1 });
  });
});

Deno.test("an account's deletion ends its blocks and keeps who blocks it; the others' records stand", async () => {
  await withStore(async (redis, applier) => {
    await applier.apply([
      block(A, tid(1), B),
      block(A, tid(2), C),
      block(C, tid(3), A),
      block(B, tid(4), A),
      block(B, tid(5), C),
    ]);
    const a = (await idOf(redis, A))!;
    await applier.apply([account(A, false, "deleted")]);
    assert.equal(await redis.exists(storeKeys.blocking(a)), 0, "A's blocks ended");
    // Who blocks A stays, for the sweep to take A out of their lists (prune_profiles.lua).
    const blockers = await redis.zrange(storeKeys.blockedBy(a), "0", "-1");
    assert.deepEqual(
      blockers.sort(),
      [await idOf(redis, B), await idOf(redis, C)].map(String).sort(),
    );
    const byC = await blockPage(redis, C, { direction: "blocked-by", limit: 10 });
    assert.deepEqual(dids(byC.items), [B]);
    assert.deepEqual(byC.counts, { blockedBy: 1, blocking: 0 }, "A, hidden, counts nowhere");
    assert.deepEqual(
      await redis.zrange(storeKeys.blockedBy((await idOf(redis, B))!), "0", "-1"),
      [],
    );
    // B's block of A still stands in B's records: deleting it later is exact.
    const b = (await idOf(redis, B))!, c = (await idOf(redis, C))!;
    assert.deepEqual(await subjectIds(redis, b), [a, c].sort());
    await applier.apply([unblock(B, tid(4), T0 + 90 * HOUR_MS)]);
    assert.deepEqual(await subjectIds(redis, b), [c]);
    // A deactivation is no deletion: the blocks stay, hidden while it lasts.
    await applier.apply([account(C, false, "deactivated")]);
    assert.equal(await redis.zcard(storeKeys.blockedBy(c)), 1);
  });
});

Deno.test("paging walks every block once, newest first, also when the cursor's block ends between pages", async () => {
  await withStore(async (redis, applier) => {
    const S = "did:plc:target";
    // 40 blockers over 4 hours: 10 in each hour, so that the hours' ties need ordering.
    const blockers = Array.from({ length: 40 }, (_, i) => `did:plc:b${String(i).padStart(2, "0")}`);
    await applier.apply(
      blockers.map((d, i) => block(d, tid(i), S, T0 - (3 - Math.floor(i / 10)) * HOUR_MS)),
    );
    const { seen, counts, pages } = await walk(redis, S, "blocked-by", 7);
    assert.equal(counts.blockedBy, 40);
    assert.equal(pages, 6);
    assert.deepEqual(dids(seen).sort(), [...blockers].sort(), "each once");
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i - 1].since >= seen[i].since);
    assert.deepEqual(
      [...new Set(seen.map((s) => s.since))],
      [0, 1, 2, 3].map((k) => T0 - k * HOUR_MS),
    );

    // The last item of a page is unblocked before the next page is asked for: the next page
    // starts where it was, skipping nothing and repeating nothing.
    const first = await blockPage(redis, S, { direction: "blocked-by", limit: 7 });
    const gone = first.items[6].did;
    await applier.apply([unblock(gone, tid(blockers.indexOf(gone)))]);
    const rest: string[] = [];
    let page = await blockPage(redis, S, { direction: "blocked-by", limit: 7, cursor: first.next });
    for (;;) {
      rest.push(...dids(page.items));
      if (!page.next) break;
      page = await blockPage(redis, S, { direction: "blocked-by", limit: 7, cursor: page.next });
    }
    assert.deepEqual([...dids(first.items), ...rest], dids(seen));
    assert.ok(!rest.includes(gone));
  });
});

Deno.test("a page looks at a bounded number of entries: a run of hidden accounts gives a short page with a cursor", async () => {
  await withStore(async (redis, applier) => {
    const S = "did:plc:target";
    const blockers = Array.from({ length: 30 }, (_, i) => `did:plc:h${String(i).padStart(2, "0")}`);
    await applier.apply(blockers.map((d, i) => block(d, tid(i), S, T0 - i * HOUR_MS)));
    // The 20 newest are hidden.
    await applier.apply(blockers.slice(0, 20).map((d) => account(d, false, "takendown")));
    const first = await blockPage(redis, S, { direction: "blocked-by", limit: 5, budget: 8 });
    assert.deepEqual(first.items, []);
    assert.ok(first.next, "more to look at");
    assert.equal(first.counts.blockedBy, 10);
    const { seen } = await walk(redis, S, "blocked-by", 5);
    assert.deepEqual(dids(seen), blockers.slice(20));
  });
});

/** The store long after T0: logs and graph sets (expiring by Redis's clock) as if expired. */
async function monthsLater(redis: Redis, ids: number[]) {
  for (const id of ids) await redis.del(storeKeys.graph(id));
  return { retentionDays: 30, now: T0 + 60 * 24 * HOUR_MS };
}

Deno.test("a deleted account idle past the retention leaves its blockers' lists, then its handle and profile go but for a mark of the deletion", async () => {
  await withStore(async (redis, applier) => {
    const D = "did:plc:dan", E = "did:plc:eve", F = "did:plc:fay", G = "did:plc:gus";
    const identity = (did: string, handle: string) => identityAt(did, handle, T0);
    await applier.apply([
      identity(A, "alice.test"),
      identity(E, "eve.test"),
      block(B, tid(1), A),
      block(B, tid(2), A), // a further record of B's block of A
      block(C, tid(3), A, T0 + 60_000),
      block(C, tid(4), D),
      block(A, tid(5), D),
      block(E, tid(6), D),
      block(D, tid(7), F),
      block(D, tid(8), G),
      account(E, false, "deactivated"),
    ]);
    const [a, b, c, d, e, f, g] = await Promise.all(
      [A, B, C, D, E, F, G].map(async (x) => (await idOf(redis, x))!),
    );
    await applier.apply([account(A, false, "deleted"), account(F, false, "deleted")]);
    // F was deleted before the deletion's hour was kept (and who blocks it with it): kept.
    await redis.hdel(storeKeys.profile(f), "dhour");
    const later = await monthsLater(redis, [a, b, c, d, e, f, g]);
    // G, deleted within the retention, though idle: kept until the retention has passed.
    await applier.apply([{ ...account(G, false, "deleted"), time: later.now - 24 * HOUR_MS }]);
    // Recently deleted: its logs are within the retention, nothing goes.
    assert.equal(await pruneIdleProfiles(redis, [a], { retentionDays: 30, now: T0 }), 0);
    assert.equal(await redis.hget(storeKeys.profile(a), "status"), "deleted");
    // One blocker a call: B first (the lowest score), then C.
    const first = await pruneProfilesOnce(redis, [a], later, 1);
    assert.deepEqual(first, { pruned: 0, unfinished: [a] });
    assert.deepEqual(await subjectIds(redis, b), [], "B's block of A, both records, gone");
    assert.equal(await redis.exists(storeKeys.blocking(b)), 0);
    assert.deepEqual(await subjectIds(redis, c), [a, d].sort((x, y) => x - y), "C not yet");
    // The rest; the deactivated account and the two other deleted ones stay as they are.
    assert.equal(await pruneIdleProfiles(redis, [a, e, f, g], later), 1);
    assert.deepEqual(await subjectIds(redis, c), [d], "C's other block stands");
    assert.equal(await redis.exists(storeKeys.blockedBy(a)), 0);
    const mark = await redis.hgetall(storeKeys.profile(a));
    assert.deepEqual(Object.keys(mark).sort(), ["aseq", "dhour", "hseq", "pseq", "status"]);
    assert.equal(mark.status, "deleted");
    // A late identity event is still known as older; the upkeep writes nothing over it.
    await applier.apply([{ ...identity(A, "late.test"), seq: Number(mark.hseq) - 1 }]);
    assert.equal(await redis.hget(storeKeys.profile(a), "handle"), null);
    const seen = { did: A, id: a, hseq: mark.hseq, pseq: mark.pseq };
    assert.equal(
      await writeCheckedProfile(redis, seen, {
        handle: "x.test",
        profile: { name: "", avatar: "" },
      }),
      0,
    );
    assert.deepEqual(await redis.hgetall(storeKeys.profile(a)), mark);
    assert.equal(await redis.sismember(storeKeys.hidden, a), 1, "hidden until its id goes");
    assert.deepEqual(await redis.zrange(storeKeys.goneIds, "0", "-1", "WITHSCORES"), [
      String(a),
      "0",
    ]);
    assert.deepEqual(await redis.zrange(storeKeys.handles, "0", "-1"), [`eve.test\0${e}`]);
    assert.equal(await redis.hget(storeKeys.profile(e), "status"), "deactivated");
    assert.deepEqual(await subjectIds(redis, d), [f, g].sort((x, y) => x - y), "F and G kept");
    // D is still blocked by C and E: nothing else moved.
    assert.deepEqual(
      (await redis.zrange(storeKeys.blockedBy(d), "0", "-1")).sort(),
      [String(c), String(e)].sort(),
    );
    // A deletion said again keeps the first one's hour, and gives none to F's.
    await applier.apply([
      { ...account(A, false, "deleted"), time: later.now },
      { ...account(F, false, "deleted"), time: later.now },
    ]);
    assert.equal(await redis.hget(storeKeys.profile(a), "dhour"), mark.dhour);
    assert.equal(await redis.hget(storeKeys.profile(f), "dhour"), null);
    // Running again finds nothing; a block of A that comes late goes at the next run.
    assert.equal(await pruneIdleProfiles(redis, [a, e, f, g], later), 0);
    await applier.apply([block(B, tid(9), A, T0 + 2 * HOUR_MS)]);
    assert.deepEqual(await subjectIds(redis, b), [a]);
    await redis.del(storeKeys.graph(b));
    assert.equal(await pruneIdleProfiles(redis, [a], later), 0, "let go already");
    assert.deepEqual(await subjectIds(redis, b), [], "the late block went too");
    // An account that says it is back is no longer waiting to go, nor deleted.
    await applier.apply([account(A, true)]);
    assert.equal(await redis.exists(storeKeys.goneIds), 0);
    assert.equal(await redis.hget(storeKeys.profile(a), "dhour"), null);
  });
});

Deno.test("a deleted account blocked by thousands leaves their lists 1,000 a call, and all of them", async () => {
  await withStore(async (redis, applier) => {
    const blockers = numberedDids("b", 2_500);
    for (let i = 0; i < blockers.length; i += 500) {
      await applier.apply(blockers.slice(i, i + 500).map((x, k) => block(x, tid(i + k), A)));
    }
    await applier.apply([account(A, false, "deleted")]);
    const a = (await idOf(redis, A))!;
    const ids = await Promise.all(blockers.map(async (x) => (await idOf(redis, x))!));
    const later = await monthsLater(redis, [a, ...ids]);
    const stillBlocking = async () => {
      let n = 0;
      for (const id of ids) n += await redis.exists(storeKeys.blocking(id));
      return n;
    };
    assert.deepEqual(await pruneProfilesOnce(redis, [a], later), { pruned: 0, unfinished: [a] });
    assert.equal(await stillBlocking(), 1_500, "one call took A out of 1,000 lists");
    assert.equal(await redis.zcard(storeKeys.blockedBy(a)), 1_500);
    assert.equal(await pruneIdleProfiles(redis, [a], later), 1);
    assert.equal(await stillBlocking(), 0);
    assert.equal(await redis.exists(storeKeys.blockedBy(a)), 0);
    assert.equal(await redis.zscore(storeKeys.goneIds, String(a)), "0");
  });
});

Deno.test("blocks as they stand have no TTL and keep the profiles their lists show", async () => {
  await withStore(async (redis, applier) => {
    const now = T0;
    for (const key of [storeKeys.blocking(42), storeKeys.blockedBy(42)]) {
      assert.equal(storeExpiry(key, { retentionDays: 30, now }), "keep", key);
    }
    await applier.apply([block(A, tid(1), B)]);
    const a = (await idOf(redis, A))!, b = (await idOf(redis, B))!;
    assert.equal(await redis.ttl(storeKeys.blocking(a)), -1);
    assert.equal(await redis.ttl(storeKeys.blockedBy(b)), -1);
    // Long after, with no log and no set left, each still has a block: both profiles stay.
    for (const id of [a, b]) {
      await redis.hset(storeKeys.profile(id), { handle: `u${id}.test`, status: "active" });
      await redis.del(storeKeys.graph(id));
    }
    const later = now + 60 * 24 * HOUR_MS;
    assert.equal(await pruneIdleProfiles(redis, [a, b], { retentionDays: 30, now: later }), 0);
    await applier.apply([unblock(A, tid(1), later)]);
    assert.equal(await pruneIdleProfiles(redis, [a, b], { retentionDays: 30, now: later }), 2);
  });
});

Deno.test("deleting an account with thousands of blocks ends them 1,000 a call, and all of them", async () => {
  await withStore(async (redis, applier) => {
    const subjects = numberedDids("s", 2_500);
    for (let i = 0; i < subjects.length; i += 500) {
      await applier.apply(subjects.slice(i, i + 500).map((s, k) => block(A, tid(i + k), s)));
    }
    await applier.apply([block(B, tid(9_000), A)]);
    const a = (await idOf(redis, A))!;
    const blockedByA = async () => {
      let n = 0;
      for (const s of subjects) {
        const id = (await idOf(redis, s))!;
        if (await redis.zscore(storeKeys.blockedBy(id), String(a)) !== null) n++;
      }
      return n;
    };
    assert.equal(await blockedByA(), 2_500);
    // The apply call alone, as a stop right after it would leave things.
    const reply = await applyCallOnly(redis, applier, [account(A, false, "deleted")]);
    assert.equal(reply[4], 1, "one account has blocks left to end");
    assert.equal(await blockedByA(), 1_500, "the call ended 1,000");
    assert.deepEqual(await redis.zrange(storeKeys.blocksEnding, "0", "-1"), [String(a)]);
    assert.deepEqual(
      await redis.zrange(storeKeys.blockedBy(a), "0", "-1"),
      [String(await idOf(redis, B))],
      "who blocks A stays",
    );
    // Meanwhile A is hidden: the blocks not yet ended show nowhere.
    const last = subjects[subjects.length - 1];
    assert.deepEqual(await blockPage(redis, last, { direction: "blocked-by", limit: 10 }), {
      items: [],
      counts: { blockedBy: 0, blocking: 0 },
    });
    // A block made after the deletion (the account back) is not one of those ending.
    const later = "did:plc:later";
    await applier.apply([block(A, tid(8_000), later, T0 + HOUR_MS)]);
    // Any batch's apply tells the applier that blocks are left to end: it ends them all.
    await applier.apply([like(C, "3keeeeeeeeee2", B)]);
    assert.equal(await blockedByA(), 0);
    assert.equal(await redis.exists(storeKeys.blocksEnding), 0);
    assert.deepEqual(await subjectIds(redis, a), [(await idOf(redis, later))!]);
    assert.ok(
      await redis.zscore(storeKeys.blockedBy((await idOf(redis, later))!), String(a)) !== null,
      "the later block stands",
    );
    // B's block of A stands in B's records.
    assert.deepEqual(await subjectIds(redis, (await idOf(redis, B))!), [a]);
    // Through apply(), the whole deletion is done when it returns.
    const C2 = "did:plc:carl";
    for (let i = 0; i < 1_200; i += 600) {
      await applier.apply(
        subjects.slice(i, i + 600).map((s, k) => block(C2, tid(10_000 + i + k), s)),
      );
    }
    await applier.apply([account(C2, false, "deleted")]);
    const c2 = (await idOf(redis, C2))!;
    assert.equal(await redis.exists(storeKeys.blocking(c2), storeKeys.blocksEnding), 0);
    for (const s of subjects.slice(0, 1_200)) {
      assert.equal(
        await redis.zscore(storeKeys.blockedBy((await idOf(redis, s))!), String(c2)),
        null,
      );
    }
  });
});

Deno.test("an account with exactly 1,000 blocks is done with them in its deletion's call", async () => {
  await withStore(async (redis, applier) => {
    const subjects = Array.from({ length: 1_000 }, (_, i) => `did:plc:x${i}`);
    await applier.apply(subjects.map((s, i) => block(A, tid(i), s)));
    const reply = await applyCallOnly(redis, applier, [account(A, false, "deleted")]);
    assert.equal(reply[4], 0, "no account has blocks left to end");
    const a = (await idOf(redis, A))!;
    assert.equal(await redis.exists(storeKeys.blocking(a), storeKeys.blocksEnding), 0);
    for (const s of subjects) {
      assert.equal(
        await redis.zscore(storeKeys.blockedBy((await idOf(redis, s))!), String(a)),
        null,
      );
    }
  });
});
