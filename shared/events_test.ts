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
});
