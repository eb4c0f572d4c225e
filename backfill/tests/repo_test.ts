import assert from "node:assert/strict";
import { toBytes } from "@atcute/cbor";
import { readRepo, RepoError } from "../repo.ts";
import { block, entries, link, node, repoCar } from "../testing/car.ts";

const DID = "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa";
const OTHER = "did:plc:bbbbbbbbbbbbbbbbbbbbbbbb";
const like = (n: number) => ({
  $type: "app.bsky.feed.like",
  subject: { uri: `at://${OTHER}/app.bsky.feed.post/3kaaaaaaaaa${n}2`, cid: "bafy" },
  createdAt: "2024-01-01T00:00:00.000Z",
});
const RECORDS: [string, unknown][] = [
  ["app.bsky.feed.like/3kaaaaaaaaab2", like(1)],
  ["app.bsky.feed.like/3kaaaaaaaaac2", like(2)],
  ["app.bsky.feed.generator/3kaaaaaaaaad2", { $type: "app.bsky.feed.generator" }],
  ["app.bsky.graph.follow/3kaaaaaaaaae2", { $type: "app.bsky.graph.follow", subject: OTHER }],
  ["app.bsky.actor.profile/self", { $type: "app.bsky.actor.profile", displayName: "A" }],
];

/** Throws unless `fn` throws a RepoError with `reason`. */
function refuses(fn: () => unknown, reason: string) {
  assert.throws(fn, (err) => err instanceof RepoError && err.reason === reason);
}

Deno.test("readRepo() walks the tree in key order to the records of kept collections", async () => {
  for (const twoLevels of [false, true]) {
    const car = await repoCar(DID, RECORDS, {
      twoLevels,
      omit: ["app.bsky.graph.follow/3kaaaaaaaaae2"],
    });
    const repo = readRepo(car, DID);
    assert.deepEqual(repo.records.map((r) => r.path), [
      "app.bsky.actor.profile/self",
      "app.bsky.feed.like/3kaaaaaaaaab2",
      "app.bsky.feed.like/3kaaaaaaaaac2",
    ]);
    assert.equal(repo.entries, 5, "every entry of the tree, kept or not");
    assert.equal(repo.missing, 1, "a record whose block is not in the CAR");
    assert.equal(repo.rev, "3kaaaaaaaaaa2");
    assert.equal(repo.records[1].collection, "app.bsky.feed.like");
    assert.equal(repo.records[1].rkey, "3kaaaaaaaaab2");
  }
});

Deno.test("readRepo() refuses a CAR cut short, another account's commit and a malformed tree", async () => {
  const car = await repoCar(DID, RECORDS);
  refuses(() => readRepo(car.subarray(0, 20), DID), "bad_car");
  refuses(() => readRepo(car.subarray(0, car.length - 10), DID), "bad_car");
  refuses(() => readRepo(new Uint8Array(0), DID), "bad_car");
  refuses(() => readRepo(new TextEncoder().encode("<html>502</html>"), DID), "bad_car");
  refuses(() => readRepo(car, OTHER), "wrong_repo");
  const others = await repoCar(OTHER, RECORDS);
  refuses(() => readRepo(others, DID), "wrong_repo");

  const value = (await block(like(1))).cid;
  // A node that is its own subtree: a loop.
  const looping = await repoCar(DID, [], {
    rootNode: async (blocks) => {
      const inner = await node(null, entries([{ key: "app.bsky.feed.like/3kaaaaaaaaab2", value }]));
      blocks.push(inner);
      return await node(inner, [{
        ...entries([{ key: "app.bsky.feed.like/3kaaaaaaaaac2", value }])[0],
        t: link(inner),
      }]);
    },
  });
  refuses(() => readRepo(looping, DID), "bad_mst");
  // Keys out of order.
  const unordered = await repoCar(DID, [], {
    rootNode: () =>
      node(null, [
        ...entries([{ key: "app.bsky.feed.like/3kaaaaaaaaac2", value }]),
        ...entries([{ key: "app.bsky.feed.like/3kaaaaaaaaab2", value }]),
      ]),
  });
  refuses(() => readRepo(unordered, DID), "bad_mst");
  // A prefix longer than the key before, a key that is not bytes, a tree that is a list.
  for (
    const e of [
      { p: 5, k: toBytes(new Uint8Array([1])), v: link(value), t: null },
      { p: 0, k: "text", v: link(value), t: null },
      { p: 0, k: toBytes(new Uint8Array([1])), v: "not a link", t: null },
    ]
  ) {
    const bad = await repoCar(DID, [], { rootNode: () => node(null, [e]) });
    refuses(() => readRepo(bad, DID), "bad_mst");
  }
  const missingNode = await repoCar(DID, [], {
    rootNode: async () => await node(await block({ l: null, e: [] }), []),
  });
  refuses(() => readRepo(missingNode, DID), "missing_block");
});

Deno.test("readRepo() answers any bytes with records or a RepoError, never anything else", async () => {
  const car = await repoCar(DID, RECORDS, { twoLevels: true });
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  let refused = 0;
  for (let i = 0; i < 500; i++) {
    const bytes = car.slice(0, 1 + Math.floor(random() * car.length));
    for (let k = 0; k < 1 + Math.floor(random() * 4); k++) {
      bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
    }
    try {
      readRepo(bytes, DID);
    } catch (err) {
      assert.ok(err instanceof RepoError, `not a RepoError: ${err}`);
      refused++;
    }
  }
  assert.ok(refused > 400, `most of them are refused: ${refused}`);
});
