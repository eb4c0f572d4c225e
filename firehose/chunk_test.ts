import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { chunkLines, encodeChunk, joinChunks } from "./chunk.ts";

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

Deno.test("a chunk holds its lines as UTF-8, whatever their characters", () => {
  const lines = ['{"name":"caf\u00e9 \ud83d\udc08"}', '{"name":"\u0000\\n"}', "{}"];
  const chunk = encodeChunk(lines);
  assert.equal(chunk.length, new TextEncoder().encode(lines.join("\n")).length);
  assert.deepEqual(chunkLines(chunk), lines);
  assert.deepEqual(chunkLines(encodeChunk([])), []);
});

Deno.test("joinChunks() puts one newline between chunks, in order, and nothing around them", () => {
  const a = encodeChunk(["1", "2"]), b = encodeChunk(['"\u00e9"']), c = encodeChunk(["3"]);
  assert.equal(text(joinChunks([a, b, c])), '1\n2\n"\u00e9"\n3');
  assert.equal(text(joinChunks([b])), '"\u00e9"');
  assert.equal(joinChunks([]).length, 0);
  assert.equal(joinChunks(undefined).length, 0);
  // A view into a larger buffer gives only its own bytes; an empty chunk an empty line.
  const view = encodeChunk(["xx", "yy"]).subarray(3);
  assert.equal(view.byteOffset, 3);
  assert.equal(text(joinChunks([view, a])), "yy\n1\n2");
  assert.equal(text(joinChunks([a, encodeChunk([]), c])), "1\n2\n\n3");
  assert.ok(Buffer.isBuffer(joinChunks([a])), "a Buffer, which the Redis client sends as bytes");
});
