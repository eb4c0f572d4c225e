import assert from "node:assert/strict";
import type { FirehoseEvent } from "@bsky/shared/events";
import { created, nextSeq } from "@bsky/shared/testing/events";
import { HOUR_MS } from "@bsky/store/layout";
import { periodAt, previousPeriod } from "@bsky/store/periods";
import { didOf, tidOf } from "@bsky/store/testing/generate";
import { changesAnswer } from "../schemas.ts";
import { withTestApi } from "../testing/api.ts";
import { compareRings, onRings } from "./changes.ts";

const NOW = Date.now();
const A = didOf(5000);
const P = Array.from({ length: 30 }, (_, i) => didOf(5001 + i));
const handleOf = (did: string) => did === A ? "actor.test" : `p${P.indexOf(did)}.test`;
/** Last week (the one asked for) and the week before it. */
const CURRENT = previousPeriod(periodAt("week", NOW));
const PREVIOUS = previousPeriod(CURRENT);

/**
 * Likes of Alice's posts per person, distinct within each week so that ranks are certain.
 * The week before: p_i likes i + 1 times. Last week: p0-p2 come in at the top, p28 and p29
 * stop, p10 and p25 trade places, the rest as before.
 */
const BEFORE = P.map((_, i) => i + 1);
const AFTER = P.map((_, i) => i < 3 ? 40 - i : i >= 28 ? 0 : i === 10 ? 26 : i === 25 ? 11 : i + 1);

let rk = 0;
const likes = (counts: number[], at: number): FirehoseEvent[] =>
  P.flatMap((did, i) =>
    Array.from(
      { length: counts[i] },
      (_, k) =>
        created(did, "app.bsky.feed.like", tidOf(rk++), {
          subject: A,
        }, at + k * 60_000),
    )
  );

const EVENTS: FirehoseEvent[] = [
  ...[A, ...P].map((did) =>
    ({
      v: 1,
      kind: "identity",
      seq: nextSeq(),
      time: PREVIOUS.start,
      did,
      handle: handleOf(did),
    }) as FirehoseEvent
  ),
  // Tuesday noon of each week.
  ...likes(BEFORE, PREVIOUS.start + 36 * HOUR_MS),
  ...likes(AFTER, CURRENT.start + 36 * HOUR_MS),
];

/** The rings the counts make, computed apart from the API: by count, 8 then 15. */
function expectedRings(counts: number[], leftOut: string[] = []) {
  const ranked = P.map((did, i) => ({ did, n: counts[i] }))
    .filter((p) => p.n > 0 && !leftOut.includes(p.did))
    .sort((a, b) => b.n - a.n);
  return new Map(ranked.slice(0, 23).map((p, k) => [p.did, k < 8 ? 1 : 2]));
}

Deno.test("onRings() and compareRings() place people by rank and tell joined, left, moved and stayed", () => {
  const now = onRings(["a", "b", "c", "d"], [1, 2]);
  assert.deepEqual(now.map((p) => [p.did, p.ring]), [["a", 1], ["b", 2], ["c", 2]]);
  const before = onRings(["b", "a", "e"], [1, 2]);
  const c = compareRings(now, before);
  assert.deepEqual(c.joined.map((p) => p.did), ["c"]);
  assert.deepEqual(c.left.map((p) => [p.did, p.ring]), [["e", 2]]);
  assert.deepEqual(c.moved.map((m) => [m.now.did, m.before.ring, m.now.ring]), [["a", 2, 1], [
    "b",
    1,
    2,
  ]]);
  assert.equal(c.stayed, 0);
});

Deno.test("GET /v1/circles/{actor}/changes: who joined, left, moved rings and stayed since the week before, with profiles, as the likes make them", async () => {
  await withTestApi({ FART_RATE_PER_IP: "100000" }, async ({ applier, get }) => {
    await applier.apply(EVENTS);
    const ask = async (query: string) => {
      const res = await get(`/v1/circles/actor.test/changes?${query}`);
      assert.equal(res.status, 200, query);
      return { res, body: changesAnswer.parse(await res.json()) };
    };
    const { res, body } = await ask(`window=${CURRENT.name}&rings=2&direction=received`);
    // Final (kept longer in caches) once every record of it is past the 48 hours of memory.
    const final = CURRENT.end + 48 * HOUR_MS <= NOW;
    assert.equal(res.headers.get("cache-control"), `public, max-age=${final ? 90 : 60}`);
    assert.deepEqual(body.current, {
      window: CURRENT.name,
      from: new Date(CURRENT.start).toISOString(),
      to: new Date(CURRENT.end).toISOString(),
    });
    assert.deepEqual(body.previous, {
      window: PREVIOUS.name,
      from: new Date(PREVIOUS.start).toISOString(),
      to: new Date(PREVIOUS.end).toISOString(),
    });
    assert.equal(body.actor.handle, "actor.test");

    const now = expectedRings(AFTER), before = expectedRings(BEFORE);
    const joined = [...now.keys()].filter((d) => !before.has(d));
    const left = [...before.keys()].filter((d) => !now.has(d));
    const moved = [...now.keys()].filter((d) => before.has(d) && before.get(d) !== now.get(d));
    assert.deepEqual(body.joined.map((p) => [p.did, p.ring]), joined.map((d) => [d, now.get(d)]));
    assert.deepEqual(body.left.map((p) => [p.did, p.ring]), left.map((d) => [d, before.get(d)]));
    assert.deepEqual(
      body.moved.map((p) => [p.did, p.from, p.to]),
      moved.map((d) => [d, before.get(d), now.get(d)]),
    );
    assert.equal(body.stayed, now.size - joined.length - moved.length);
    // What that means here: p0-p2 came in at the top, p28, p29 and p7 dropped out, p10 and
    // p25 traded rings and p22 was pushed out of the inner ring.
    assert.deepEqual(body.joined.map((p) => p.handle), ["p0.test", "p1.test", "p2.test"]);
    assert.deepEqual(body.joined.map((p) => p.score), [40, 39, 38]);
    assert.deepEqual(body.left.map((p) => [p.handle, p.ring, p.score]), [
      ["p29.test", 1, 30],
      ["p28.test", 1, 29],
      ["p7.test", 2, 8],
    ]);
    assert.deepEqual(body.moved.map((p) => [p.handle, p.from, p.to]), [
      ["p10.test", 2, 1],
      ["p22.test", 1, 2],
      ["p25.test", 1, 2],
    ]);
    assert.equal(body.stayed, 17);

    // The filters apply to both weeks: without p0, p3 is no longer pushed out and p8 stays in.
    const { body: without } = await ask(
      `window=${CURRENT.name}&rings=2&direction=received&exclude=p0.test`,
    );
    const nowX = expectedRings(AFTER, [P[0]]), beforeX = expectedRings(BEFORE, [P[0]]);
    assert.deepEqual(
      without.joined.map((p) => p.did),
      [...nowX.keys()].filter((d) => !beforeX.has(d)),
    );
    assert.ok(!without.joined.some((p) => p.did === P[0]));
    assert.deepEqual(
      without.left.map((p) => p.did),
      [...beforeX.keys()].filter((d) => !nowX.has(d)),
    );
    // Sent: Alice liked nobody, so nobody joined or left.
    const { body: sent } = await ask(`window=${CURRENT.name}&direction=sent`);
    assert.deepEqual([sent.joined, sent.left, sent.moved, sent.stayed], [[], [], [], 0]);
  });
});

Deno.test("changes over a rolling window compare with the hours just before it; one whose previous span is past the retention is a 400", async () => {
  await withTestApi({ FART_RATE_PER_IP: "100000" }, async ({ applier, get }) => {
    await applier.apply([
      ...[A, P[1], P[2]].map((did) =>
        ({
          v: 1,
          kind: "identity",
          seq: nextSeq(),
          time: NOW,
          did,
          handle: handleOf(did),
        }) as FirehoseEvent
      ),
      created(P[1], "app.bsky.feed.like", "3kaaaaaaaaaa2", { subject: A }, NOW - 30 * HOUR_MS),
      created(P[2], "app.bsky.feed.like", "3kaaaaaaaaaa3", { subject: A }, NOW - 2 * HOUR_MS),
    ]);
    const res = await get("/v1/circles/actor.test/changes?window=24h");
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("cache-control"), "public, max-age=60");
    const body = changesAnswer.parse(await res.json());
    const end = (Math.floor(NOW / HOUR_MS) + 1) * HOUR_MS;
    assert.deepEqual(
      [body.current.from, body.current.to, body.previous.from, body.previous.to],
      [end - 24 * HOUR_MS, end, end - 48 * HOUR_MS, end - 24 * HOUR_MS].map((t) =>
        new Date(t).toISOString()
      ),
    );
    assert.deepEqual([body.current.window, body.previous.window], ["24h", "24h"]);
    assert.deepEqual(body.joined.map((p) => [p.handle, p.ring, p.score]), [["p2.test", 1, 1]]);
    assert.deepEqual(body.left.map((p) => [p.handle, p.ring, p.score]), [["p1.test", 1, 1]]);

    // Interactions are kept 30 days (the indexer's default): there are no 30 days before the last 30.
    for (
      const [query, message] of [
        ["window=30d", /has no previous 30d within what is kept \(30 days\)/],
        [`window=${periodAt("week", NOW + 7 * 24 * HOUR_MS).name}`, /has not started yet/],
        ["rings=4", /is above 3/],
        ["limit=3", /is not a parameter of this endpoint/],
      ] as [string, RegExp][]
    ) {
      const bad = await get(`/v1/circles/actor.test/changes?${query}`);
      assert.equal(bad.status, 400, query);
      assert.match((await bad.json()).message, message, query);
    }
    const unknown = await get("/v1/circles/did:plc:zzzzzzzzzzzzzzzzzzzzzzzz/changes");
    assert.equal(unknown.status, 404);
    await unknown.body?.cancel();
  });
});
