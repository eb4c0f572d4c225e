import assert from "node:assert/strict";
import { BodyTooLargeError, readBody, readJson } from "./bounded_read.ts";

/** A response streaming `chunks` chunks of `size` bytes, counting how many were pulled. */
function streamed(chunks: number, size: number, headers: HeadersInit = {}) {
  let pulled = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      if (pulled++ === chunks) return c.close();
      c.enqueue(new Uint8Array(size).fill(0x20));
    },
  });
  return { res: new Response(body, { headers }), pulled: () => pulled };
}

Deno.test("readBody() stops reading a body as soon as it passes the bound", async () => {
  const { res, pulled } = streamed(1_000_000, 1024);
  await assert.rejects(() => readBody(res, 64 * 1024), BodyTooLargeError);
  assert.ok(pulled() < 100, `read ${pulled()} chunks of an endless body`);
});

Deno.test("readBody() refuses a declared length over the bound without reading", async () => {
  const { res, pulled } = streamed(10, 1024, { "content-length": "10240" });
  await assert.rejects(() => readBody(res, 4096), /declares 10240 bytes, more than 4096/);
  assert.ok(pulled() <= 1);
});

Deno.test("readJson() parses a body within the bound, and readBody() gives it whole", async () => {
  const text = JSON.stringify({ did: "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa", pad: "x".repeat(70_000) });
  assert.deepEqual(await readJson(new Response(text)), JSON.parse(text));
  assert.equal((await readBody(new Response(text), text.length)).length, text.length);
  await assert.rejects(() => readBody(new Response(text), text.length - 1), BodyTooLargeError);
});
