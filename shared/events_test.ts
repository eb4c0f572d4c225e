import assert from "node:assert/strict";
import { decodeEvent, encodeEvent, type FirehoseEvent, MalformedEventError } from "./events.ts";

const base = { v: 1 as const, seq: 42, time: 1_700_000_000_123, did: "did:plc:abc" };
const events: FirehoseEvent[] = [
  { ...base, kind: "commit", action: "delete", collection: "app.bsky.feed.like", rkey: "3k" },
  {
    ...base,
    kind: "commit",
    action: "create",
    collection: "app.bsky.feed.post",
    rkey: "3k2",
    parent: "did:plc:p",
    root: "did:web:x.example",
    quote: "did:plc:q",
    mentions: ["did:plc:m1", "did:plc:m2"],
    chars: 12,
    langs: ["pt", "en", "kab"],
    opt: "out:ABCDEFGH",
  },
  {
    ...base,
    kind: "commit",
    action: "update",
    collection: "app.bsky.actor.profile",
    rkey: "self",
    displayName: 'Zoë "the cat" \\ 🐈\n\u0000',
    avatar: "bafkreiabc",
  },
  {
    ...base,
    kind: "commit",
    action: "create",
    collection: "app.bsky.feed.post",
    rkey: "3k3",
    parent: "did:plc:p",
    root: "did:plc:r",
    mentions: ["did:plc:bot"],
    chars: 17,
    watched: {
      cid: "bafyreiabc",
      text: '@bot.test bolas "7d"\n\u2028 🐈',
      langs: ["pt-BR"],
      createdAt: "2026-07-04T14:38:08.999Z",
      root: { uri: "at://did:plc:r/app.bsky.feed.post/3k0", cid: "bafyreir" },
      parent: { uri: "at://did:plc:p/app.bsky.feed.post/3k1", cid: "bafyreip" },
    },
  },
  { ...base, kind: "identity", handle: "alice.test" },
  { ...base, kind: "identity" },
  { ...base, kind: "account", active: false, status: 'take"ndown' },
];

Deno.test("encodeEvent() writes JSON that decodeEvent() reads back to the same event", () => {
  for (const e of events) {
    const json = encodeEvent(e);
    assert.ok(!json.includes("\n"), "one event per line");
    assert.deepEqual(JSON.parse(json), e);
    assert.deepEqual(decodeEvent("1", json), e);
  }
});

Deno.test("decodeEvent() names what is wrong with a malformed entry", () => {
  const reason = (v: string | undefined, e: string | undefined) => {
    try {
      decodeEvent(v, e);
    } catch (err) {
      return err instanceof MalformedEventError ? err.reason : "other";
    }
    return "ok";
  };
  assert.equal(reason("2", "{}"), "unknown_version");
  assert.equal(reason("1", undefined), "missing_field");
  assert.equal(reason("1", "{nope"), "bad_json");
  assert.equal(reason("1", "[1]"), "wrong_type");
  assert.equal(reason("1", JSON.stringify({ ...base, kind: "commit" })), "wrong_type");
  assert.equal(reason("1", JSON.stringify({ ...base, seq: "1", kind: "identity" })), "wrong_type");
  assert.equal(reason("1", encodeEvent(events[1])), "ok");
  assert.equal(reason("1", encodeEvent(events[1]).replace('"out:ABCDEFGH"', "7")), "wrong_type");
  // What a reply needs must have its shape: a thread with both refs, bounded text and langs.
  const watched = events[3] as FirehoseEvent & { watched: Record<string, unknown> };
  const withWatched = (w: Record<string, unknown>) =>
    reason("1", JSON.stringify({ ...watched, watched: { ...watched.watched, ...w } }));
  assert.equal(withWatched({}), "ok");
  assert.equal(withWatched({ root: undefined }), "wrong_type");
  assert.equal(withWatched({ text: "x".repeat(3001) }), "wrong_type");
  assert.equal(withWatched({ langs: ["en", "pt", "de", "fr"] }), "wrong_type");
  assert.equal(withWatched({ cid: 7 }), "wrong_type");
  assert.equal(withWatched({ parent: { uri: "at://x" } }), "wrong_type");
});

Deno.test("a post's languages are kept through the codec; events written before them still decode", () => {
  const post = events[1] as FirehoseEvent & { langs?: string[] };
  const json = encodeEvent(post);
  assert.match(json, /"chars":12,"langs":\["pt","en","kab"\],"opt"/);
  assert.deepEqual(decodeEvent("1", json), post);
  // An entry of a firehose that did not keep languages yet: no field, the same event less it.
  const { langs: _, ...older } = post;
  const olderJson = encodeEvent(older as FirehoseEvent);
  assert.doesNotMatch(olderJson, /langs/);
  assert.deepEqual(decodeEvent("1", olderJson), older);
  // Anything but 1 to 3 distinct lowercase subtags is a malformed entry (parked, not applied).
  for (
    const langs of [[], ["EN"], ["pt-BR"], ["en", "en"], ["en", "pt", "de", "fr"], "en", [7]]
  ) {
    assert.throws(
      () => decodeEvent("1", JSON.stringify({ ...post, langs })),
      (err: unknown) => err instanceof MalformedEventError && /"langs"/.test(err.message),
      JSON.stringify(langs),
    );
  }
});
