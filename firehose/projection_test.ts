import assert from "node:assert/strict";
import { decode, decodeFirst, encode } from "@atcute/cbor";
import { InvalidInputError } from "@bsky/shared/errors";
import { isKeptCollection } from "@bsky/shared/events";
import { readCaptureFile } from "./capture.ts";
import { decodeFrame, decodeRecord, decodeRecordOf, findBlocks } from "./frame.ts";
import { DEFAULT_LIMITS, recordFacts, splitPath } from "./normalize.ts";
import { normalizeFrame } from "./sources/relay.ts";
import { project } from "./projection.ts";
import { corpusFrames } from "./testing/helpers.ts";

const captures = {
  relay: await corpusFrames(),
  pds: await readCaptureFile(new URL("bench/pds_capture.bin.gz", import.meta.url)),
};

function outcome(fn: () => unknown): unknown {
  try {
    return fn();
  } catch (err) {
    if (err instanceof InvalidInputError) return { dropped: err.reason };
    throw err;
  }
}

for (const [name, frames] of Object.entries(captures)) {
  Deno.test(`decodeFrame() reads every ${name} commit exactly as a full decode does`, () => {
    let commits = 0;
    for (const bytes of frames) {
      const frame = decodeFrame(bytes);
      const [header, rest] = decodeFirst(bytes) as [{ t: string }, Uint8Array];
      assert.equal(frame.type === "other" ? frame.t : frame.type, header.t);
      if (frame.type !== "#commit") continue;
      commits++;
      // deno-lint-ignore no-explicit-any
      const full = decode(rest) as Record<string, any>;
      const b = frame.body;
      assert.deepEqual(
        [b.seq, b.repo, b.time, b.tooBig ?? false],
        [full.seq, full.repo, full.time, full.tooBig ?? false],
      );
      assert.deepEqual(b.blocks, full.blocks.buf ?? full.blocks);
      assert.deepEqual(
        b.ops.map((o) => [o.action, o.path, o.cid?.$link ?? null]),
        // deno-lint-ignore no-explicit-any
        full.ops.map((o: any) => [o.action, o.path, o.cid?.$link ?? null]),
      );
    }
    assert.ok(commits > 100);
  });

  Deno.test(`normalizing projected ${name} records gives what full records give`, () => {
    let records = 0;
    for (const bytes of frames) {
      const frame = decodeFrame(bytes);
      if (frame.type !== "#commit") continue;
      const blocks = findBlocks(
        frame.body.blocks,
        frame.body.ops.map((o) => o.cid?.bytes ?? new Uint8Array()),
      );
      frame.body.ops.forEach((op, i) => {
        const [collection, rkey] = splitPath(op.path)!;
        if (!isKeptCollection(collection) || !blocks[i]) return;
        records++;
        assert.deepEqual(
          outcome(() => recordFacts(collection, rkey, decodeRecordOf(collection, blocks[i]!))),
          outcome(() => recordFacts(collection, rkey, decodeRecord(blocks[i]!))),
        );
      });
    }
    assert.ok(records > 100);
  });
}

Deno.test("normalizing projected posts gives what full posts give, for 525 real posts", async () => {
  const timeline = JSON.parse(
    await Deno.readTextFile(
      new URL("../testdata/records/atproto-dart-2023/getTimeline.json", import.meta.url),
    ),
  );
  const posts: unknown[] = [];
  const walk = (x: unknown) => {
    if (Array.isArray(x)) return x.forEach(walk);
    if (x === null || typeof x !== "object") return;
    const o = x as Record<string, unknown>;
    if (o.$type === "app.bsky.feed.post" && typeof o.text === "string") posts.push(o);
    Object.values(o).forEach(walk);
  };
  walk(timeline);
  assert.equal(posts.length, 525);
  for (const post of posts) {
    const bytes = encode(post);
    assert.deepEqual(
      outcome(() =>
        recordFacts("app.bsky.feed.post", "k", decodeRecordOf("app.bsky.feed.post", bytes))
      ),
      outcome(() => recordFacts("app.bsky.feed.post", "k", decodeRecord(bytes))),
    );
  }
});

Deno.test("decodeFrame() turns every truncation and random corruption into InvalidInputError", () => {
  let seed = 11;
  const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
  for (const bytes of captures.relay.slice(0, 20)) {
    for (let cut = 0; cut < bytes.length; cut += 1 + rand(40)) {
      assert.throws(() => decodeFrame(bytes.subarray(0, cut)), InvalidInputError);
    }
    for (let i = 0; i < 50; i++) {
      const copy = bytes.slice();
      for (let k = 0; k < 4; k++) copy[rand(copy.length)] = rand(256);
      try {
        decodeFrame(copy);
      } catch (err) {
        assert.ok(err instanceof InvalidInputError, String(err));
      }
      // And normalizing it never throws, whatever the corruption decoded into.
      normalizeFrame(copy, [], { drop() {}, ignore() {} }, DEFAULT_LIMITS);
    }
  }
});

Deno.test("project() refuses deep nesting and trailing bytes instead of overflowing", () => {
  const deep = new Uint8Array(100_000).fill(0x81); // [[[[…
  assert.throws(() => project(deep, { a: 1 }), /nesting too deep|unexpected end/);
  assert.throws(() => project(encode({ a: 1 }).slice(0, 3), { a: 1 }), /unexpected end/);
  const two = new Uint8Array([...encode({ a: 1 }), 0x01]);
  assert.throws(() => project(two, { a: 1 }), /trailing bytes/);
  assert.deepEqual(project(encode({ a: "x", b: [1, 2], c: { d: true } }), { a: 1, c: { d: 1 } }), {
    a: "x",
    c: { d: true },
  });
});
