import assert from "node:assert/strict";
import { idOf } from "./ids.ts";
import { topInteractions, totals, windowRange, windowWeeks } from "./interactions.ts";
import { HOUR_MS, WEEK_HOURS } from "./layout.ts";
import { A, B, C, create, del, like, T0, top, withStore } from "./testing/fixtures.ts";

Deno.test("windows are exact to the hour and directions combine as documented", async () => {
  await withStore(async (redis, applier) => {
    await applier.apply([
      like(A, "old", B, T0 - 5 * HOUR_MS),
      like(A, "new", B, T0),
      like(B, "back", A, T0),
      like(C, "c1", A, T0),
      create(A, "app.bsky.feed.repost", "r1", { subject: C }),
    ]);
    assert.equal((await top(redis, A, "sent", 1))?.find((c) => c.did === B)?.like, 1);
    assert.equal((await top(redis, A, "sent", 6))?.find((c) => c.did === B)?.like, 2);
    const both = await top(redis, A, "both", 6);
    assert.deepEqual(both?.map((c) => [c.did, c.like, c.repost, c.score]), [[B, 3, 0, 3], [
      C,
      1,
      1,
      3,
    ]]);
    const mutual = await top(redis, A, "mutual", 6);
    // B: sent score 2, received 1 -> 1; C: sent 2 (repost), received 1 -> 1.
    assert.deepEqual(mutual?.map((c) => [c.did, c.score]), [[B, 1], [C, 1]]);
    assert.equal(await top(redis, "did:plc:nobody", "sent"), undefined);
  });
});

Deno.test("blocks and follows are kept apart, and circles can leave blocked people out", async () => {
  await withStore(async (redis, applier) => {
    const block = create(A, "app.bsky.graph.block", "b1", { subject: C });
    const follow = create(A, "app.bsky.graph.follow", "f1", { subject: B });
    await applier.apply([like(A, "l1", C), block, follow]);
    const [aId, bId, cId] = await Promise.all([A, B, C].map((d) => idOf(redis, d)));
    // Follows and blocks share one set: blocks as negative ids.
    assert.deepEqual((await redis.smembers(`g:{${aId}}`)).sort(), [`-${cId}`, `${bId}`].sort());
    const opts = { direction: "sent" as const, windowHours: 24, limit: 10, now: T0 };
    assert.deepEqual((await topInteractions(redis, A, opts))?.map((c) => c.did), [C]);
    assert.deepEqual(await topInteractions(redis, A, { ...opts, excludeBlocked: true }), []);
    assert.equal((await totals(redis, C, 24, T0))?.received.block, 1);
    assert.equal((await totals(redis, A, 24, T0))?.sent.block, 1);
    assert.equal((await totals(redis, A, 24, T0))?.sent.like, 1);
    await applier.apply([
      del(A, "app.bsky.graph.block", "b1"),
      del(A, "app.bsky.graph.follow", "f1"),
    ]);
    assert.equal((await totals(redis, C, 24, T0))?.received.block, 0);
    assert.equal((await topInteractions(redis, A, { ...opts, excludeBlocked: true }))?.length, 1);
    assert.deepEqual(await redis.smembers(`g:{${aId}}`), []);
  });
});

Deno.test("windowRange() and windowWeeks() give the whole hours a window counts, ending with now's", () => {
  const week = 2900, now = (week * WEEK_HOURS + 5) * HOUR_MS + 59 * 60_000;
  assert.deepEqual(windowRange(6, now), {
    from: new Date((week * WEEK_HOURS) * HOUR_MS),
    to: new Date((week * WEEK_HOURS + 6) * HOUR_MS),
  });
  // Six hours from the week's first: one week, its hours 0 to 5.
  assert.deepEqual(windowWeeks(6, now), [{ week, from: 0, to: 5 }]);
  // One more reaches the last hour of the week before.
  assert.deepEqual(windowWeeks(7, now), [
    { week: week - 1, from: WEEK_HOURS - 1, to: WEEK_HOURS - 1 },
    { week, from: 0, to: 5 },
  ]);
  // 30 days: five weeks, the oldest from the window's first hour, the others whole.
  const month = windowWeeks(720, now);
  assert.deepEqual(month.map((w) => w.week), [
    week - 5,
    week - 4,
    week - 3,
    week - 2,
    week - 1,
    week,
  ]);
  assert.equal(month.reduce((n, w) => n + w.to - w.from + 1, 0), 720);
  assert.deepEqual(
    month.slice(1, -1).map((w) => [w.from, w.to]),
    Array(4).fill([0, WEEK_HOURS - 1]),
  );
});

Deno.test("a scan's top stays exact when the best candidates are left out past its first pages", async () => {
  await withStore(async (redis, applier) => {
    // 300 people liked by A 1 to 7 times each: many ties, broken by the smaller id.
    const people = Array.from({ length: 300 }, (_, k) => `did:plc:p${k}`);
    const likes = people.flatMap((p, k) =>
      Array.from({ length: (k % 7) + 1 }, (_, n) => like(A, `l${k}x${n}`, p))
    );
    for (let at = 0; at < likes.length; at += 500) await applier.apply(likes.slice(at, at + 500));
    const ids = await Promise.all(people.map((p) => idOf(redis, p)));
    const byId = new Map(ids.map((id, k) => [id!, people[k]]));
    // Every person in rank order: most likes first, then the smaller id.
    const ranked = people.map((p, k) => ({ p, id: ids[k]!, n: (k % 7) + 1 }))
      .sort((a, b) => b.n - a.n || a.id - b.id);
    const opts = { direction: "sent" as const, windowHours: 24, limit: 20, now: T0 };
    assert.deepEqual(
      (await topInteractions(redis, A, opts))?.map((c) => c.did),
      ranked.slice(0, 20).map((r) => r.p),
    );
    // Leave out the best 230: past the first 40 candidates (2 × limit) and the next 160, into the 640.
    const left = new Set(ranked.slice(0, 230).map((r) => r.id));
    const asked: number[] = [];
    const skip = (cs: readonly number[]) => {
      asked.push(...cs);
      return Promise.resolve(cs.map((c) => left.has(c)));
    };
    const top = await topInteractions(redis, A, { ...opts, skip });
    assert.deepEqual(top?.map((c) => c.did), ranked.slice(230, 250).map((r) => r.p));
    // Asked in rank order, each candidate once.
    assert.deepEqual(
      asked.map((id) => byId.get(id)),
      ranked.slice(0, asked.length).map((r) => r.p),
    );
  });
});
