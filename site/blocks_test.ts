import assert from "node:assert/strict";
import type { FirehoseEvent } from "@bsky/shared/events";
import { created } from "@bsky/shared/testing/events";
import { Applier } from "@bsky/store/apply";
import { ALICE, BOB, CAROL, DAN, EVE, withStack } from "./testing/stack.ts";

const HOUR = 3_600_000;
const T0 = Math.floor(Date.now() / HOUR) * HOUR - 100 * HOUR;
const block = (did: string, rkey: string, subject: string, hour: number) =>
  created(did, "app.bsky.graph.block", rkey, { subject }, T0 + hour * HOUR);
/** Who a page lists, in order. */
const listed = (html: string) =>
  [...html.matchAll(/<li data-did="([^"]+)">/g)].map(([, did]) => did);

Deno.test("an account's blocks page lists who blocks it and whom it blocks, newest first, in both languages", async () => {
  await withStack(async ({ get, redis }) => {
    await new Applier(redis, { retentionDays: 30, memoryHours: 48 }).apply([
      block(ALICE, "3mptbyplj5d2a", BOB, 1),
      block(CAROL, "3mptbyplj5d2b", BOB, 2),
      block(DAN, "3mptbyplj5d2c", BOB, 3), // taken down: left out
      block(BOB, "3mptbyplj5d2d", EVE, 4),
    ]);
    const circles = await (await get("/c/bob.test")).text();
    assert.match(circles, /<a href="\/c\/bob.test\/blocks">Who blocks this account/);

    const res = await get("/c/bob.test/blocks");
    assert.equal(res.status, 200);
    const html = await res.text();
    assert.match(html, /<h1>Blocks of <span class="handle">/);
    assert.deepEqual(listed(html), [CAROL, ALICE]);
    assert.match(html, /Blocked by \(<span data-count="blocked-by">2<\/span>\)/);
    assert.match(html, /Blocking \(<span data-count="blocking">1<\/span>\)/);
    const since = new Date(T0 + 2 * HOUR).toISOString();
    assert.ok(html.includes(`<time datetime="${since}">${since.slice(0, 10)}`), html);
    assert.match(html, /href="\/c\/carol.test"/);
    assert.match(html, /aria-current="page"[^>]*>Blocked by|href="[^"]*blocked-by" aria-current/);
    assert.doesNotMatch(html, /rel="next"/, "one page");

    const of = await (await get("/c/bob.test/blocks?direction=blocking")).text();
    assert.deepEqual(listed(of), [EVE]);
    const none = await (await get("/c/eve.test/blocks?direction=blocking")).text();
    assert.match(none, /This account blocks nobody\./);
    const pt = await (await get("/c/bob.test/blocks?lang=pt")).text();
    assert.match(pt, /<h1>Bloqueios de/);
    assert.match(pt, /Bloqueada por \(<span data-count="blocked-by">2<\/span>\)/);
    assert.match(pt, /Voltar aos círculos/);
  });
});

Deno.test("the blocks page goes a page at a time with links that work without JavaScript", async () => {
  await withStack(async ({ get, redis }) => {
    const blockers = Array.from(
      { length: 60 },
      (_, i) =>
        `did:plc:${"x".repeat(22)}${"abcdefghijklmnopqrstuvwxyz234567"[i % 32]}${
          i < 32 ? "a" : "b"
        }`,
    );
    const events: FirehoseEvent[] = blockers.map((did, i) =>
      block(did, `3mptbyplj5d${"abcdefghij"[i % 10]}${"abcdefgh"[Math.floor(i / 10)]}`, ALICE, i)
    );
    await new Applier(redis, { retentionDays: 30, memoryHours: 48 }).apply(events);
    const first = await (await get("/c/alice.test/blocks")).text();
    assert.deepEqual(listed(first), blockers.slice(10).reverse());
    const next = first.match(/<a href="([^"]+)" rel="next">Older blocks<\/a>/)?.[1];
    assert.ok(next, "a link to the older blocks");
    assert.doesNotMatch(first, /rel="first"/);
    const second = await (await get(next.replaceAll("&amp;", "&"))).text();
    assert.deepEqual(listed(second), blockers.slice(0, 10).reverse());
    assert.match(second, /<a href="\/c\/alice.test\/blocks\?direction=blocked-by" rel="first">/);
    assert.doesNotMatch(second, /rel="next"/);
  });
});

Deno.test("the blocks page answers a wrong direction, page or parameter with 400, and a hidden account with 410", async () => {
  await withStack(async ({ get, apiCalls }) => {
    for (
      const path of [
        "/c/bob.test/blocks?direction=up",
        "/c/bob.test/blocks?cursor=NOT!",
        "/c/bob.test/blocks?window=24h",
        "/c/not_a_handle!/blocks",
      ]
    ) {
      const calls = apiCalls.length;
      const res = await get(path);
      await res.body?.cancel();
      assert.equal(res.status, 400, path);
      assert.equal(apiCalls.length, calls, `${path}: nothing asked of the API`);
    }
    const gone = await get("/c/dan.test/blocks");
    assert.equal(gone.status, 410);
    assert.match(await gone.text(), /This account is not shown/);
    const moved = await get("/c/@Bob.test/blocks?direction=blocking");
    await moved.body?.cancel();
    assert.equal(moved.status, 301);
    assert.equal(moved.headers.get("location"), "/c/bob.test/blocks?direction=blocking");
  });
});
