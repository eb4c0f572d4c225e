import assert from "node:assert/strict";
import { decode, decodeFirst, encode, toBytes } from "@atcute/cbor";
import { readCaptureFile } from "../capture.ts";
import { decodeFrame } from "../frame.ts";
import {
  newestTime,
  replayedFrames,
  shiftedTime,
  shiftToNow,
  startReplayServer,
} from "./replay_server.ts";

const CAPTURE = new URL("../bench/pds_capture.bin.gz", import.meta.url);
const HOUR = 3_600_000;

/** Header and body of a frame, decoded in full. */
function parts(frame: Uint8Array): [unknown, Record<string, unknown>] {
  const [header, rest] = decodeFirst(frame);
  return [header, decode(rest) as Record<string, unknown>];
}

Deno.test("shiftedTime() moves every frame's time and leaves the rest of the frame as it was", async () => {
  const frames = await readCaptureFile(CAPTURE);
  const shift = 37 * 24 * HOUR + 1234;
  for (const frame of frames) {
    const [header, body] = parts(frame);
    const [shiftedHeader, shiftedBody] = parts(shiftedTime(frame, shift));
    assert.deepEqual(shiftedHeader, header);
    assert.equal(typeof body.time, "string");
    assert.equal(Date.parse(shiftedBody.time as string), Date.parse(body.time as string) + shift);
    assert.deepEqual({ ...shiftedBody, time: body.time }, body);
  }
});

Deno.test("shifted frames decode with the firehose's own decoder", async () => {
  const frames = await readCaptureFile(CAPTURE);
  const shift = -5 * HOUR;
  const types = new Set<string>();
  for (const frame of frames) {
    const before = decodeFrame(frame);
    const after = decodeFrame(shiftedTime(frame, shift));
    types.add(after.type === "other" ? after.t : after.type);
    if (after.type === "#commit" && before.type === "#commit") {
      assert.equal(Date.parse(after.body.time), Date.parse(before.body.time) + shift);
      assert.deepEqual(after.body.blocks, before.body.blocks);
      assert.equal(after.body.seq, before.body.seq);
    }
  }
  assert.deepEqual([...types].sort(), ["#account", "#commit", "#identity", "#sync"]);
});

Deno.test("shiftedTime() changes only the top-level time, whatever the paths and records hold", () => {
  // A path holding the bytes of the key, and a time with microseconds (a longer string).
  const frame = new Uint8Array([
    ...encode({ op: 1, t: "#commit" }),
    ...encode({
      ops: [{ action: "create", path: "app.bsky.feed.post/dtime2aaaaaa", cid: null }],
      repo: "did:plc:abc",
      seq: 7,
      time: "2024-01-01T00:00:00.123456Z",
      blocks: toBytes(new TextEncoder().encode("time")),
    }),
  ]);
  const [, body] = parts(shiftedTime(frame, HOUR));
  assert.equal(body.time, "2024-01-01T01:00:00.123Z");
  assert.deepEqual((body.ops as { path: string }[])[0].path, "app.bsky.feed.post/dtime2aaaaaa");
  assert.equal(body.seq, 7);
});

Deno.test("shiftedTime() leaves frames without a time as they are", () => {
  const info = new Uint8Array([
    ...encode({ op: 1, t: "#info" }),
    ...encode({ name: "OutdatedCursor" }),
  ]);
  assert.equal(shiftedTime(info, HOUR), info);
});

Deno.test("a replay shifted to now serves the capture with its newest event at the start time", async () => {
  const frames = await readCaptureFile(CAPTURE);
  const start = Date.now();
  const shift = shiftToNow(frames, start);
  assert.equal(newestTime(frames)! + shift, start);
  await using server = startReplayServer({ frames, timeShiftMs: shift, holdOpen: false });
  const ws = new WebSocket(server.url);
  ws.binaryType = "arraybuffer";
  const got: Uint8Array[] = [];
  await new Promise<void>((resolve, reject) => {
    ws.onmessage = (e) => got.push(new Uint8Array(e.data as ArrayBuffer));
    ws.onclose = () => resolve();
    ws.onerror = () => reject(new Error("WebSocket error"));
  });
  assert.equal(got.length, frames.length);
  const expected = replayedFrames(frames, frames.length, 2 ** 32, shift);
  for (let i = 0; i < got.length; i++) assert.deepEqual(got[i], expected[i]);
  assert.equal(newestTime(got), start);
  const seqs = got.map((f) => decodeFrame(f)).map((f) => (f.body as { seq: number }).seq);
  assert.deepEqual(seqs, seqs.map((_, i) => 2 ** 32 + i + 1));
});
