import assert from "node:assert/strict";
import { encode } from "@atcute/cbor";
import { recordFacts, writeEvent } from "@bsky/firehose/normalize";
import { countingTime, recordEvent, tidTime } from "../records.ts";

const DID = "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa";
const OTHER = "did:plc:bbbbbbbbbbbbbbbbbbbbbbbb";
const NOW = Date.UTC(2025, 5, 15, 12);

/** The TID of an instant (ms) with clock id 0. */
function tid(ms: number): string {
  const S32 = "234567abcdefghijklmnopqrstuvwxyz";
  let v = BigInt(ms) * 1000n << 10n;
  let out = "";
  for (let i = 0; i < 13; i++) {
    out = S32[Number(v & 31n)] + out;
    v >>= 5n;
  }
  return out;
}

Deno.test("tidTime() reads the instant a TID was made at; anything else has none", () => {
  const at = Date.UTC(2024, 2, 3, 4, 5, 6, 789);
  assert.equal(tidTime(tid(at)), at);
  assert.equal(tidTime("3jzfcijpj2z2a"), 1688137381887);
  for (const rkey of ["self", "3jzfcijpj2z2", "zzzzzzzzzzzzz", "3jzfcijpj2z2A"]) {
    assert.equal(tidTime(rkey), undefined, rkey);
  }
});

Deno.test("a record counts at its createdAt, else at its TID's time, never in the future", () => {
  const made = NOW - 86_400_000;
  const key = tid(made - 60_000);
  assert.equal(countingTime(new Date(made).toISOString(), key, NOW), made);
  assert.equal(countingTime("2025-06-14T12:00:00+02:00", key, NOW), made - 2 * 3_600_000);
  // Invalid, out of bounds, or too far in the future: the TID's time.
  for (
    const bad of [
      undefined,
      42,
      "yesterday",
      "2025-06-14",
      "1999-12-31T23:59:59Z",
      "2025-06-15T13:00:00Z",
    ]
  ) {
    assert.equal(countingTime(bad, key, NOW), made - 60_000, String(bad));
  }
  // A few minutes ahead (clock skew) counts now; no TID and no date: no time at all.
  assert.equal(countingTime("2025-06-15T12:03:00Z", key, NOW), NOW);
  assert.equal(countingTime("nonsense", tid(NOW + 3_600_000), NOW), undefined);
  assert.equal(countingTime(undefined, "self", NOW), undefined);
});

Deno.test("recordEvent() gives the firehose's event for the record, or the reason it drops it", () => {
  const rkey = tid(NOW - 3_600_000);
  const post = {
    $type: "app.bsky.feed.post",
    text: "hi @b",
    createdAt: new Date(NOW - 7_200_000).toISOString(),
    reply: {
      root: { uri: `at://${OTHER}/app.bsky.feed.post/${rkey}`, cid: "bafy" },
      parent: { uri: `at://${OTHER}/app.bsky.feed.post/${rkey}`, cid: "bafy" },
    },
    facets: [{ features: [{ $type: "app.bsky.richtext.facet#mention", did: OTHER }] }],
    langs: ["en"],
  };
  const made = recordEvent(DID, "app.bsky.feed.post", rkey, encode(post), NOW);
  assert.ok("event" in made);
  assert.equal(made.time, NOW - 7_200_000);
  const facts = recordFacts("app.bsky.feed.post", rkey, post);
  assert.deepEqual(
    made.event,
    writeEvent(0, NOW - 7_200_000, DID, "create", "app.bsky.feed.post", rkey, facts),
  );
  assert.deepEqual(
    [made.event.parent, made.event.root, made.event.mentions, made.event.chars],
    [OTHER, OTHER, [OTHER], 5],
  );
  const drops: [string, Uint8Array][] = [
    ["record_too_large", encode({ ...post, text: "x".repeat(70_000) })],
    ["bad_record", new Uint8Array([0xa1, 0x61])],
    ["invalid_record", encode({ $type: "app.bsky.feed.like", subject: {} })],
    ["invalid_uri", encode({ ...post, reply: { root: { uri: "x" }, parent: { uri: "x" } } })],
  ];
  for (const [reason, bytes] of drops) {
    assert.deepEqual(recordEvent(DID, "app.bsky.feed.post", rkey, bytes, NOW), { drop: reason });
  }
  const like = encode({
    $type: "app.bsky.feed.like",
    subject: { uri: `at://${OTHER}/app.bsky.feed.generator/x`, cid: "bafy" },
    createdAt: "2025-01-01T00:00:00Z",
  });
  assert.deepEqual(recordEvent(DID, "app.bsky.feed.like", rkey, like, NOW), {
    drop: "subject_not_post",
  });
});
