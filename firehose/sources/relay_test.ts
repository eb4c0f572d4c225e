import assert from "node:assert/strict";
import { decode, decodeFirst, encode } from "@atcute/cbor";
import type { FirehoseEvent } from "@bsky/shared/events";
import { readCaptureFile } from "../capture.ts";
import { decodeFrame, decodeRecord, findBlocks } from "../frame.ts";
import { normalizeJetstream } from "./jetstream.ts";
import { DEFAULT_LIMITS, splitPath } from "../normalize.ts";
import { countingStats } from "../testing/helpers.ts";
import { normalizeFrame, readRelay } from "./relay.ts";

const corpus = new URL("../../testdata/relay-2026-07-04/", import.meta.url);
const frames = await readCaptureFile(new URL("frames.bin", corpus));
const manifest = JSON.parse(await Deno.readTextFile(new URL("manifest.json", corpus)));
const expected: Record<string, unknown>[] = (await Deno.readTextFile(
  new URL("expected_v1.jsonl", corpus),
)).split("\n").filter(Boolean).map((l) => JSON.parse(l));

Deno.test("decodeFrame() reads every real relay frame of the corpus", () => {
  assert.equal(frames.length, manifest.frames);
  const types: Record<string, number> = {};
  let seq = manifest.seq_first - 1;
  for (const bytes of frames) {
    const frame = decodeFrame(bytes);
    types[frame.type] = (types[frame.type] ?? 0) + 1;
    assert.ok("seq" in frame.body);
    assert.equal(frame.body.seq, seq + 1, "the corpus is contiguous");
    seq = frame.body.seq as number;
  }
  assert.deepEqual(types, {
    "#commit": manifest.commit_frames,
    "#identity": manifest.identity,
    "#account": manifest.account,
  });
});

Deno.test("records decoded from relay frames equal production Jetstream's JSON of the same events", () => {
  const byKey = new Map<string, Record<string, unknown>>();
  for (const line of expected) {
    if (line.kind !== "commit") continue;
    const c = line.commit as Record<string, string>;
    byKey.set(`${line.did} ${c.rev} ${c.collection} ${c.rkey} ${c.operation}`, line);
  }
  let matched = 0;
  for (const bytes of frames) {
    const frame = decodeFrame(bytes);
    if (frame.type !== "#commit") continue;
    const { repo, ops, blocks } = frame.body;
    // The service reads only what it needs of a commit; the revision comes from a full decode.
    const { rev } = decode(decodeFirst(bytes)[1]) as { rev: string };
    const cids = ops.map((op) => op.cid?.bytes ?? new Uint8Array());
    const found = findBlocks(blocks, cids);
    ops.forEach((op, i) => {
      const [collection, rkey] = splitPath(op.path)!;
      const line = byKey.get(`${repo} ${rev} ${collection} ${rkey} ${op.action}`);
      assert.ok(line, `Jetstream has ${op.action} ${repo}/${op.path}`);
      const commit = line.commit as Record<string, unknown>;
      if (op.action === "delete") {
        assert.equal(commit.record, undefined);
      } else {
        const record = JSON.parse(JSON.stringify(decodeRecord(found[i]!)));
        assert.deepEqual(record, commit.record);
        assert.equal(op.cid!.$link, commit.cid);
      }
      matched++;
    });
  }
  assert.equal(matched, manifest.creates + manifest.updates + manifest.deletes);
});

function sortKey(e: FirehoseEvent): string {
  return e.kind === "commit"
    ? `${e.did} ${e.collection} ${e.rkey} ${e.action}`
    : `${e.did} ${e.kind} ${e.seq}`;
}

/** Jetstream has no relay seq or commit time for commits: compare everything else. */
function comparable(e: FirehoseEvent): Record<string, unknown> {
  if (e.kind !== "commit") return { ...e };
  const { seq: _seq, time: _time, ...rest } = e;
  return rest;
}

Deno.test("the relay and Jetstream paths give identical events for the same data", () => {
  const relay: FirehoseEvent[] = [];
  const r = countingStats();
  for (const bytes of frames) normalizeFrame(bytes, relay, r.stats, DEFAULT_LIMITS);
  const jet: FirehoseEvent[] = [];
  const j = countingStats();
  for (const line of expected) normalizeJetstream(line, jet, j.stats, DEFAULT_LIMITS);
  relay.sort((a, b) => sortKey(a).localeCompare(sortKey(b)));
  jet.sort((a, b) => sortKey(a).localeCompare(sortKey(b)));
  assert.deepEqual(relay.map(comparable), jet.map(comparable));
  assert.deepEqual(r.dropped, j.dropped);
  assert.deepEqual(r.ignored, j.ignored);
  // Anti-vacuity: the corpus' kept ops all arrive (2 updates are of other collections).
  const kept = manifest.creates + manifest.deletes + manifest.identity + manifest.account;
  const dropped = Object.values(r.dropped).reduce((a, b) => a + b, 0);
  assert.equal(relay.length + dropped, kept);
  assert.ok(
    relay.some((e) => e.kind === "commit" && e.action === "create" && e.parent !== undefined),
  );
  assert.ok(relay.some((e) => e.kind === "identity") && relay.some((e) => e.kind === "account"));
});

Deno.test("normalizeFrame() keeps the commit time and relay seq on every event", () => {
  const out: FirehoseEvent[] = [];
  const { stats } = countingStats();
  const outcome = normalizeFrame(frames[0], out, stats, DEFAULT_LIMITS);
  assert.deepEqual(outcome, { kind: "events", seq: manifest.seq_first, frameType: "commit" });
  assert.equal(out.length, 1);
  assert.deepEqual(out[0], {
    v: 1,
    kind: "commit",
    seq: 31527015322,
    time: Date.parse("2026-07-04T14:38:07.517Z"),
    did: "did:plc:wq4aajammjtxdomz3e23667t",
    action: "create",
    collection: "app.bsky.feed.like",
    rkey: "3mptbyplj5d2a",
    subject: "did:plc:r2zybk6op3ymzpz6jhqpkoy5",
  });
});

Deno.test("normalizeFrame() adds what a reply needs to posts that mention a watched account, and to nothing else", async () => {
  // A real PDS's frames (the bundled capture): posts with mentions, some of them replies.
  const pds = await readCaptureFile(new URL("../bench/pds_capture.bin.gz", import.meta.url));
  const plain: FirehoseEvent[] = [];
  for (const bytes of pds) normalizeFrame(bytes, plain, countingStats().stats, DEFAULT_LIMITS);
  const mentioned = [
    ...new Set(
      plain.flatMap((e) => e.kind === "commit" && e.action !== "delete" ? e.mentions ?? [] : []),
    ),
  ];
  const watch = new Set(mentioned.slice(0, 3));
  const watched: FirehoseEvent[] = [];
  for (const bytes of pds) {
    normalizeFrame(bytes, watched, countingStats().stats, { ...DEFAULT_LIMITS, watch });
  }
  // Each watched post against the whole record, decoded apart, and its op's CID.
  const records = new Map<string, { record: Record<string, unknown>; cid: string }>();
  for (const bytes of pds) {
    const frame = decodeFrame(bytes);
    if (frame.type !== "#commit") continue;
    const found = findBlocks(
      frame.body.blocks,
      frame.body.ops.map((op) => op.cid?.bytes ?? new Uint8Array()),
    );
    frame.body.ops.forEach((op, i) => {
      if (!found[i]) return;
      const record = JSON.parse(JSON.stringify(decodeRecord(found[i]!)));
      records.set(`${frame.body.repo}/${op.path}`, { record, cid: op.cid!.$link });
    });
  }
  assert.equal(watched.length, plain.length);
  let replies = 0, posts = 0;
  watched.forEach((e, i) => {
    if (e.kind !== "commit" || e.action === "delete" || !e.mentions?.some((d) => watch.has(d))) {
      assert.deepEqual(e, plain[i], "an event without a watched mention is unchanged");
      return;
    }
    posts++;
    const { watched: w, ...rest } = e;
    assert.deepEqual(rest, plain[i]);
    const { record, cid } = records.get(`${e.did}/${e.collection}/${e.rkey}`)!;
    type Ref = { uri: string; cid: string };
    const reply = record.reply as { root: Ref; parent: Ref } | undefined;
    // A strong ref is its URI and CID; anything else a writer put beside them stays behind.
    const ref = ({ uri, cid }: Ref) => ({ uri, cid });
    if (reply) replies++;
    assert.deepEqual(w, {
      cid,
      text: record.text,
      ...(record.langs ? { langs: record.langs } : {}),
      createdAt: record.createdAt,
      ...(reply ? { root: ref(reply.root), parent: ref(reply.parent) } : {}),
    });
  });
  // Anti-vacuity: watched posts were found, replies among them.
  assert.ok(posts > 5 && replies > 0, `${posts} posts, ${replies} replies`);
});

const buffer = (bytes: Uint8Array) => bytes.slice();
const cbor = (header: unknown, body: unknown) =>
  buffer(new Uint8Array([...encode(header), ...encode(body)]));

Deno.test("readRelay() returns a real frame's events with its seq, and no replay of it", () => {
  const read = readRelay(buffer(frames[0]), DEFAULT_LIMITS, undefined);
  const out: FirehoseEvent[] = [];
  normalizeFrame(frames[0], out, countingStats().stats, DEFAULT_LIMITS);
  assert.deepEqual(read.events, out);
  assert.equal(read.events.length, 1);
  assert.equal(read.seq, manifest.seq_first);
  assert.equal(read.frame, "#commit");
  assert.equal(read.bytes, frames[0].length);
  assert.equal(read.repo, "did:plc:wq4aajammjtxdomz3e23667t");
  assert.deepEqual([read.dropped, read.ignored, read.created], [[], [], false]);
  assert.equal(read.error, undefined);
  // At or below the last seq processed, the frame is counted and not read again.
  const replay = readRelay(buffer(frames[0]), DEFAULT_LIMITS, manifest.seq_first);
  assert.deepEqual([replay.events, replay.seq, replay.frame], [[], undefined, "#commit"]);
  assert.equal(
    readRelay(buffer(frames[0]), DEFAULT_LIMITS, manifest.seq_first - 1).seq,
    manifest.seq_first,
  );
});

Deno.test("readRelay() gives the author and time of a commit's ignored ops, and new accounts", async () => {
  const other = readRelay(buffer(frames[27]), DEFAULT_LIMITS, undefined);
  assert.deepEqual(other.events, []);
  assert.equal(other.seq, manifest.seq_first + 27);
  assert.deepEqual(other.ignored, ["fm.teal.alpha.actor.status"]);
  assert.equal(other.repo, "did:plc:2tvbiywvmdzx5tnblamijmhd");
  assert.equal(other.time, Date.parse("2026-07-04T14:38:07.668Z"));
  // A real PDS: a repository's first commit, then a #sync frame, which is ignored.
  const pds = await readCaptureFile(new URL("../bench/pds_capture.bin.gz", import.meta.url));
  const first = readRelay(buffer(pds[2]), DEFAULT_LIMITS, undefined);
  assert.deepEqual([first.frame, first.seq, first.created], ["#commit", 3, true]);
  const commit = decodeFrame(pds[2]);
  assert.ok(commit.type === "#commit" && commit.body.since === null);
  assert.equal(first.time, Date.parse(commit.body.time));
  const sync = readRelay(buffer(pds[3]), DEFAULT_LIMITS, undefined);
  assert.deepEqual([sync.frame, sync.seq, sync.ignored, sync.repo], [
    "#sync",
    4,
    ["#sync"],
    undefined,
  ]);
});

Deno.test("readRelay() passes #info and error frames on as notices, without moving the seq", () => {
  const info = readRelay(
    cbor({ op: 1, t: "#info" }, { name: "OutdatedCursor" }),
    DEFAULT_LIMITS,
    5,
  );
  assert.deepEqual([info.frame, info.seq, info.events], ["#info", undefined, []]);
  assert.deepEqual(info.notice, { kind: "info", name: "OutdatedCursor", message: undefined });
  const error = readRelay(
    cbor({ op: -1 }, { error: "FutureCursor", message: "no" }),
    DEFAULT_LIMITS,
    5,
  );
  assert.deepEqual([error.frame, error.seq, error.dropped], ["error", undefined, []]);
  assert.deepEqual(error.notice, { kind: "error", name: "FutureCursor", message: "no" });
});

Deno.test("readRelay() drops a malformed frame or a text message whole, saying why", () => {
  const cases: [Uint8Array | string, string, RegExp][] = [
    [buffer(frames[0].subarray(0, 100)), "malformed", /^Cannot decode frame: /],
    [cbor({ op: 7, t: "#commit" }, { seq: 1 }), "malformed", /unknown header/],
    [cbor({ op: 1, t: "#commit" }, { seq: "x" }), "malformed", /without a valid seq/],
    ["not binary", "text", /must be binary/],
  ];
  for (const [message, frame, error] of cases) {
    const read = readRelay(message, DEFAULT_LIMITS, undefined);
    assert.deepEqual([read.frame, read.events, read.seq], [frame, [], undefined]);
    assert.deepEqual(read.dropped, ["bad_frame"]);
    assert.match(read.error ?? "", error);
    assert.equal(read.notice, undefined);
  }
});
