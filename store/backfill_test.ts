import assert from "node:assert/strict";
import type { CommitWriteEvent } from "@bsky/shared/events";
import { BackfillStore, holdBackfill, releaseBackfill, StaleProgressError } from "./backfill.ts";
import { blockPage, idOf, profiles } from "./queries.ts";
import { DAY_MS, HOUR_MS, storeKeys } from "./layout.ts";
import { A, B, C, create, del, like, nextSeq, T0, top, withStore } from "./testing/fixtures.ts";

const HOST = "pds.example";
const options = { retentionDays: 30, memoryHours: 48 };

/** A record as the backfill reads it: a create event at `time`, with no seq of its own. */
const rec = (e: ReturnType<typeof create>, recent = true) => ({
  event: { ...e, seq: 0 } as CommitWriteEvent,
  recent,
});

/** A part of A's repository from mark `from` to `to` under `token`, read and loaded now. */
const part = (
  token: string,
  records: ReturnType<typeof rec>[],
  from = "",
  to = "done",
  did = A,
) => ({ did, host: HOST, from, to, token, now: T0, readAt: T0, records });

Deno.test("a record applied live counts once: the backfill finds it in the record memory, in any span", async () => {
  await withStore(async (redis, applier) => {
    const store = new BackfillStore(redis, options);
    await holdBackfill(redis, "run", 60, true);
    // Seen live now; its createdAt (the backfill's time) is a day earlier, another span.
    await applier.apply([like(A, "3kaaaaaaaaaa2", B)]);
    const out = await store.load(part("run", [
      rec(like(A, "3kaaaaaaaaaa2", B, T0 - DAY_MS)),
      rec(like(A, "3kaaaaaaaaaa3", B, T0 - DAY_MS)),
    ]));
    assert.deepEqual(out, { counted: 1, seenLive: 1, hidden: 0, idle: 0 });
    assert.equal((await top(redis, A, "sent", 48))?.[0].like, 2);
    // The backfilled like counts at its own time: a day ago, not in the last hour.
    assert.equal((await top(redis, A, "sent", 1))?.[0].like, 1);
  });
});

Deno.test("a live delete while a backfill holds leaves a tombstone, so a repository read before it does not bring the record back", async () => {
  await withStore(async (redis, applier) => {
    const store = new BackfillStore(redis, options);
    // No backfill runs: a delete of an unknown record leaves nothing.
    assert.equal(
      (await applier.apply([del(A, "app.bsky.feed.like", "3kaaaaaaaaab2")])).unmatched,
      1,
    );
    assert.equal(await redis.exists(storeKeys.tombstones(Math.floor(T0 / HOUR_MS))), 0);
    assert.equal(await holdBackfill(redis, "run", 60, true), true);
    // Read before the delete, loaded after it.
    await applier.apply([del(A, "app.bsky.feed.like", "3kaaaaaaaaab3")]);
    assert.equal(await redis.exists(storeKeys.tombstones(Math.floor(T0 / HOUR_MS))), 1);
    const ttl = await redis.ttl(storeKeys.tombstones(Math.floor(T0 / HOUR_MS)));
    assert.ok(ttl > 7200 && ttl <= 3 * 3600, `a tombstone lasts its hour and two more: ${ttl}`);
    const out = await store.load(part("run", [
      rec(like(A, "3kaaaaaaaaab3", B, T0 - 3 * DAY_MS)),
      rec(like(A, "3kaaaaaaaaab4", C, T0 - 3 * DAY_MS)),
    ]));
    assert.deepEqual(out, { counted: 1, seenLive: 1, hidden: 0, idle: 0 });
    assert.deepEqual((await top(redis, A, "sent", 24 * 7))?.map((c) => c.did), [C]);
    await releaseBackfill(redis, "run");
    await applier.apply([del(A, "app.bsky.feed.like", "3kaaaaaaaaab5", T0 + HOUR_MS)]);
    assert.equal(await redis.exists(storeKeys.tombstones(Math.floor(T0 / HOUR_MS) + 1)), 0);
  });
});

Deno.test("a live delete after the backfill takes back exactly what it added", async () => {
  await withStore(async (redis, applier) => {
    const store = new BackfillStore(redis, options);
    await holdBackfill(redis, "run", 60, true);
    const post = create(A, "app.bsky.feed.post", "3kaaaaaaaaac2", {
      parent: B,
      root: B,
      quote: C,
      mentions: [B],
      chars: 3,
    }, T0 - 5 * HOUR_MS);
    assert.equal((await store.load(part("run", [rec(post)]))).counted, 1);
    assert.deepEqual(
      (await top(redis, A, "sent"))?.map((c) => [c.did, c.reply, c.quote, c.mention]),
      [[B, 1, 0, 1], [C, 0, 1, 0]],
    );
    assert.equal((await applier.apply([del(A, "app.bsky.feed.post", "3kaaaaaaaaac2")])).applied, 1);
    assert.deepEqual(await top(redis, A, "sent"), []);
    assert.deepEqual(await top(redis, B, "received"), []);
  });
});

Deno.test("status, handle and profile from the backfill carry seq 0: the live stream's win in either order", async () => {
  await withStore(async (redis, applier) => {
    const store = new BackfillStore(redis, options);
    await holdBackfill(redis, "run", 60, true);
    const base = { v: 1 as const, time: T0 };
    // The live stream saw A deactivated; the source's listing (older) says active.
    await applier.apply([{
      ...base,
      kind: "account",
      seq: nextSeq(),
      did: A,
      active: false,
      status: "deactivated",
    }]);
    await store.writeAccount([
      { ...base, kind: "account", seq: 0, did: A, active: true },
      { ...base, kind: "identity", seq: 0, did: B, handle: "old.test" },
      {
        ...base,
        kind: "commit",
        seq: 0,
        did: B,
        action: "create",
        collection: "app.bsky.actor.profile",
        rkey: "self",
        displayName: "Old",
      },
    ]);
    assert.equal(await redis.sismember(storeKeys.hidden, String(await idOf(redis, A))), 1);
    // Nothing of a hidden account is loaded.
    const out = await store.load(part("run", [rec(like(A, "3kaaaaaaaaad2", B, T0 - HOUR_MS))]));
    assert.deepEqual(out, { counted: 0, seenLive: 0, hidden: 1, idle: 0 });
    // Live events after the backfill's win too.
    await applier.apply([
      { ...base, kind: "identity", seq: nextSeq(), did: B, handle: "new.test" },
      {
        ...base,
        kind: "commit",
        seq: nextSeq(),
        did: B,
        action: "create",
        collection: "app.bsky.actor.profile",
        rkey: "self",
        displayName: "New",
      },
    ]);
    await store.writeAccount([{ ...base, kind: "identity", seq: 0, did: B, handle: "old.test" }]);
    const [b] = await profiles(redis, [B]);
    assert.equal(b.handle, "new.test");
    assert.equal(b.displayName, "New");
  });
});

Deno.test("a part moves the repository's mark and is refused whole when the mark moved or the hold lapsed", async () => {
  await withStore(async (redis) => {
    const store = new BackfillStore(redis, options);
    await holdBackfill(redis, "run", 60, true);
    const first = [rec(like(A, "3kaaaaaaaaae2", B, T0 - HOUR_MS))];
    const second = [rec(like(A, "3kaaaaaaaaae3", B, T0 - HOUR_MS))];
    const mark = "app.bsky.feed.like/3kaaaaaaaaae2";
    assert.equal((await store.load(part("run", first, "", mark))).counted, 1);
    assert.equal(await redis.hget(storeKeys.backfillRepos(HOST), A), mark);
    // Another run that read the mark before: refused, nothing counted twice.
    await assert.rejects(() => store.load(part("run", first, "", mark)), StaleProgressError);
    assert.equal((await store.load(part("run", second, mark, "done"))).counted, 1);
    assert.equal((await top(redis, A, "sent"))?.[0].like, 2);
    // A token whose hold ended (or never began) loads nothing.
    await releaseBackfill(redis, "run");
    assert.equal(
      await holdBackfill(redis, "run", 60),
      false,
      "a lapsed hold is not taken up again",
    );
    await assert.rejects(
      () => store.load(part("run", [rec(like(B, "3kaaaaaaaaae4", A))], "", "done", B)),
      StaleProgressError,
    );
    assert.deepEqual(await top(redis, B, "sent"), []);
  });
});

Deno.test("follows and blocks older than the retention are kept; interactions are logged only inside it", async () => {
  await withStore(async (redis) => {
    const store = new BackfillStore(redis, options);
    await holdBackfill(redis, "run", 60, true);
    const old = T0 - 400 * DAY_MS;
    const out = await store.load(part("run", [
      rec(create(A, "app.bsky.graph.follow", "3kaaaaaaaaaf2", { subject: B }, old), false),
      rec(create(A, "app.bsky.graph.block", "3kaaaaaaaaaf3", { subject: C }, old), false),
      rec(create(A, "app.bsky.graph.block", "3kaaaaaaaaaf4", { subject: B }, T0 - HOUR_MS)),
    ]));
    assert.deepEqual(out, { counted: 3, seenLive: 0, hidden: 0, idle: 0 });
    const [a, b, c] = await Promise.all([A, B, C].map((d) => idOf(redis, d)));
    assert.deepEqual(
      (await redis.smembers(storeKeys.graph(a!))).map(Number).sort((x, y) => x - y),
      [-c!, -b!, b!].sort((x, y) => x - y),
    );
    const ttl = await redis.ttl(storeKeys.graph(a!));
    assert.ok(ttl > 29 * 86400 && ttl <= 31 * 86400, `the set lasts the retention: ${ttl}`);
    // Both blocks stand, each since its own time; only the recent one is in the logs.
    const since = async (did: string) =>
      (await blockPage(redis, did, { direction: "blocked-by", limit: 10 })).items.map((i) =>
        Math.floor(i.since / HOUR_MS)
      );
    assert.deepEqual(await since(C), [Math.floor(old / HOUR_MS)]);
    assert.deepEqual(await since(B), [Math.floor((T0 - HOUR_MS) / HOUR_MS)]);
    const logged = await redis.strlen(storeKeys.log(a!, Math.floor(T0 / HOUR_MS / 168)));
    assert.equal(logged, 5, "one entry: the recent block");
  });
});
