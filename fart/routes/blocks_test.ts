import assert from "node:assert/strict";
import type { FirehoseEvent } from "@bsky/shared/events";
import { created, identity as identityAt, nextSeq } from "@bsky/shared/testing/events";
import { HOUR_MS, storeKeys } from "@bsky/store/layout";
import { idOf } from "@bsky/store/queries";
import { openApiDocument } from "../openapi.ts";
import { blocksAnswer } from "../schemas.ts";
import { withTestApi } from "../testing/api.ts";
import { decodeCursor, encodeCursor } from "./blocks.ts";

const A = "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa";
const B = "did:plc:bbbbbbbbbbbbbbbbbbbbbbbb";
const C = "did:plc:cccccccccccccccccccccccc";
const D = "did:plc:dddddddddddddddddddddddd";
const E = "did:plc:eeeeeeeeeeeeeeeeeeeeeeee";
const T0 = Math.floor(Date.now() / HOUR_MS) * HOUR_MS - 10 * HOUR_MS;

const identity = (did: string, handle: string) => identityAt(did, handle, T0);
const block = (did: string, rkey: string, subject: string, hoursIn: number) =>
  created(did, "app.bsky.graph.block", rkey, { subject }, T0 + hoursIn * HOUR_MS);
const iso = (hoursIn: number) => new Date(T0 + hoursIn * HOUR_MS).toISOString();

/** Bob is blocked by Alice, Carol and Dan (in that order, an hour apart); Bob blocks Eve. */
const EVENTS: FirehoseEvent[] = [
  identity(A, "alice.test"),
  identity(B, "bob.test"),
  identity(C, "carol.test"),
  identity(D, "dan.test"),
  identity(E, "eve.test"),
  created(C, "app.bsky.actor.profile", "self", { displayName: "Carol" }, T0),
  block(A, "3mptbyplj5d2a", B, 1),
  block(C, "3mptbyplj5d2b", B, 2),
  block(D, "3mptbyplj5d2c", B, 3),
  block(B, "3mptbyplj5d2d", E, 4),
];

Deno.test("GET /v1/blocks lists who blocks an account, newest first, with profiles, both counts and a cursor", async () => {
  await withTestApi({}, async ({ applier, get }) => {
    await applier.apply(EVENTS);
    const res = await get("/v1/blocks/@bob.test");
    assert.equal(res.status, 200);
    assert.ok(res.headers.get("etag"));
    const body = await res.json();
    assert.deepEqual(blocksAnswer.strict().parse(body), body, "what /openapi.json describes");
    assert.deepEqual(body.actor, { did: B, handle: "bob.test", displayName: null, avatar: null });
    assert.equal(body.direction, "blocked-by");
    assert.deepEqual(body.counts, { blockedBy: 3, blocking: 1 });
    assert.deepEqual(body.items, [
      { did: D, handle: "dan.test", displayName: null, avatar: null, since: iso(3) },
      { did: C, handle: "carol.test", displayName: "Carol", avatar: null, since: iso(2) },
      { did: A, handle: "alice.test", displayName: null, avatar: null, since: iso(1) },
    ]);
    assert.equal(body.cursor, null);

    // A page at a time: each cursor leads to the next, the last has none.
    const seen: string[] = [];
    let path = "/v1/blocks/bob.test?direction=blocked-by&limit=2";
    for (let pages = 0;; pages++) {
      const page = await (await get(path)).json();
      assert.ok(pages < 3 && page.items.length <= 2);
      assert.deepEqual(page.counts, { blockedBy: 3, blocking: 1 });
      seen.push(...page.items.map((i: { handle: string }) => i.handle));
      if (page.cursor === null) break;
      path = `/v1/blocks/bob.test?limit=2&cursor=${page.cursor}`;
    }
    assert.deepEqual(seen, ["dan.test", "carol.test", "alice.test"]);

    const blocking = await (await get(`/v1/blocks/${B}?direction=blocking`)).json();
    assert.deepEqual(blocking.items, [
      { did: E, handle: "eve.test", displayName: null, avatar: null, since: iso(4) },
    ]);
    assert.deepEqual(blocking.counts, { blockedBy: 3, blocking: 1 });
  });
});

Deno.test("GET /v1/blocks leaves hidden and opted-out accounts out of the items and the counts; an opted-out actor is a 410", async () => {
  await withTestApi({}, async ({ applier, get, redis }) => {
    await applier.apply([
      ...EVENTS,
      {
        v: 1,
        kind: "account",
        seq: nextSeq(),
        time: T0,
        did: C,
        active: false,
        status: "takendown",
      },
    ]);
    // Dan opts out: what the apply script does when his code is posted.
    const optOut = async (did: string) => {
      const id = (await idOf(redis, did))!;
      await redis.hset(storeKeys.profile(id), "optout", "1");
      await redis.sadd(storeKeys.hidden, id);
    };
    await optOut(D);
    const body = await (await get("/v1/blocks/bob.test")).json();
    assert.deepEqual(body.items.map((i: { did: string }) => i.did), [A]);
    assert.deepEqual(body.counts, { blockedBy: 1, blocking: 1 });
    await optOut(B);
    const gone = await get("/v1/blocks/bob.test?direction=blocking&limit=5");
    assert.equal(gone.status, 410);
    const error = await gone.json();
    assert.equal(error.status, "opted_out");
    assert.match(error.message, /opted out/);
    assert.equal((await get("/v1/blocks/did:plc:zzzzzzzzzzzzzzzzzzzzzzzz")).status, 404);
  });
});

Deno.test("GET /v1/blocks answers a wrong parameter with a 400 naming it", async () => {
  await withTestApi({}, async ({ applier, get }) => {
    await applier.apply(EVENTS);
    for (
      const [path, parameter] of [
        ["/v1/blocks/bob.test?direction=up", "direction"],
        ["/v1/blocks/bob.test?limit=0", "limit"],
        ["/v1/blocks/bob.test?limit=101", "limit"],
        ["/v1/blocks/bob.test?limit=many", "limit"],
        ["/v1/blocks/bob.test?cursor=ABC", "cursor"],
        ["/v1/blocks/bob.test?cursor=zzzzzzzzzzzz", "cursor"],
        ["/v1/blocks/bob.test?cursor=zzzzzzzzzzz", "cursor"],
        ["/v1/blocks/bob.test?cursor=007", "cursor"],
        ["/v1/blocks/bob.test?window=24h", "window"],
        ["/v1/blocks/not_a_handle!", "actor"],
      ]
    ) {
      const res = await get(path);
      assert.equal(res.status, 400, path);
      const body = await res.json();
      assert.equal(body.parameter, parameter, path);
      assert.match(body.message, new RegExp(`"${parameter}"`), path);
    }
  });
});

Deno.test("cursors are the page's end as base 36, and only those this API gives are taken", () => {
  for (const score of [0, 1, 495_000 * 2 ** 28 + 123_456, 2 ** 53 - 1]) {
    assert.equal(decodeCursor(encodeCursor(score)), score);
  }
  for (const bad of ["", "-1", "1.5", "0x10", "01", "2gosa7pa2gx", "ZZ"]) {
    assert.throws(() => decodeCursor(bad), /cursor/, bad);
  }
});

Deno.test("/openapi.json describes GET /v1/blocks/{actor} with its parameters and answer", () => {
  const doc = openApiDocument("none") as unknown as {
    paths: Record<string, Record<string, { operationId: string; parameters: { name: string }[] }>>;
    components: { schemas: Record<string, unknown> };
  };
  const op = doc.paths["/v1/blocks/{actor}"].get;
  assert.equal(op.operationId, "getBlocks");
  assert.deepEqual(op.parameters.map((p) => p.name).sort(), [
    "actor",
    "cursor",
    "direction",
    "limit",
  ]);
  assert.ok(doc.components.schemas.Blocks);
});
