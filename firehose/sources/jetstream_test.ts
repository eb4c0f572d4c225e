import assert from "node:assert/strict";
import { DEFAULT_LIMITS } from "../normalize.ts";
import { corpusUrl } from "../testing/helpers.ts";
import { readJetstream } from "./jetstream.ts";

/** Production Jetstream's JSON of the relay corpus' events, one message a line. */
const lines = (await Deno.readTextFile(new URL("expected_v1.jsonl", corpusUrl)))
  .split("\n").filter(Boolean);

Deno.test("readJetstream() returns a real message's event with its cursor, from text or bytes", () => {
  const cursor = 1783175888085434;
  const read = readJetstream(lines[0], DEFAULT_LIMITS, undefined);
  assert.deepEqual(read.events, [{
    v: 1,
    kind: "commit",
    seq: cursor,
    time: Math.floor(cursor / 1000),
    did: "did:plc:wq4aajammjtxdomz3e23667t",
    action: "create",
    collection: "app.bsky.feed.like",
    rkey: "3mptbyplj5d2a",
    subject: "did:plc:r2zybk6op3ymzpz6jhqpkoy5",
  }]);
  assert.equal(read.seq, cursor);
  assert.deepEqual([read.frame, read.bytes], ["json", lines[0].length]);
  assert.deepEqual([read.dropped, read.ignored, read.error], [[], [], undefined]);
  assert.deepEqual([read.repo, read.time], [read.events[0].did, read.events[0].time]);
  const bytes = new TextEncoder().encode(lines[0]);
  assert.deepEqual(readJetstream(bytes, DEFAULT_LIMITS, undefined), read);
});

Deno.test("readJetstream() gives the author and time of an ignored op, also on a replay", () => {
  const line = lines[27];
  const read = readJetstream(line, DEFAULT_LIMITS, undefined);
  assert.deepEqual(read.events, []);
  assert.equal(read.seq, 1783175888142410);
  assert.deepEqual(read.ignored, ["fm.teal.alpha.actor.status"]);
  assert.deepEqual([read.repo, read.time], ["did:plc:2tvbiywvmdzx5tnblamijmhd", 1783175888142]);
  // A replayed message keeps what it ignored and drops its events and its cursor.
  const liked = readJetstream(lines[0], DEFAULT_LIMITS, 1783175888085434);
  assert.deepEqual([liked.events, liked.seq], [[], undefined]);
  const replay = readJetstream(line, DEFAULT_LIMITS, read.seq);
  assert.deepEqual([replay.seq, replay.ignored], [undefined, ["fm.teal.alpha.actor.status"]]);
});

Deno.test("readJetstream() reads identity and account messages with the relay's seq", () => {
  const identity = readJetstream(lines[150], DEFAULT_LIMITS, undefined);
  assert.deepEqual(identity.events.map((e) => [e.kind, e.seq]), [["identity", 31527015470]]);
  assert.equal(identity.seq, 1783175888384849);
  const account = readJetstream(lines[151], DEFAULT_LIMITS, undefined);
  assert.deepEqual(account.events.map((e) => [e.kind, e.seq]), [["account", 31527015471]]);
});

Deno.test("readJetstream() drops a malformed message whole, saying why, and ignores an unknown kind", () => {
  const cases: [string, RegExp][] = [
    ["{ not json", /^Cannot parse a Jetstream message: /],
    ["[1, 2]", /must be an object with a time_us cursor/],
    ['{"kind": "commit", "did": "did:plc:x"}', /must be an object with a time_us cursor/],
  ];
  for (const [message, error] of cases) {
    const read = readJetstream(message, DEFAULT_LIMITS, undefined);
    assert.deepEqual([read.frame, read.events, read.seq], ["json", [], undefined]);
    assert.deepEqual(read.dropped, ["bad_frame"]);
    assert.match(read.error ?? "", error);
  }
  const unknown = readJetstream(
    '{"kind": "labels", "did": "did:plc:2tvbiywvmdzx5tnblamijmhd", "time_us": 9}',
    DEFAULT_LIMITS,
    undefined,
  );
  assert.deepEqual([unknown.events, unknown.seq, unknown.ignored], [[], 9, ["labels"]]);
  assert.deepEqual([unknown.dropped, unknown.error, unknown.repo], [[], undefined, undefined]);
});
