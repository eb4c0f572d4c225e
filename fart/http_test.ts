import assert from "node:assert/strict";
import { brotliDecompressSync } from "node:zlib";
import { z } from "zod";
import { compressed, contentCoding, HttpError, parseQuery } from "./http.ts";

Deno.test("parseQuery() gives the same answer for a query it has seen, and a wrong one is refused every time", () => {
  const schema = z.strictObject({ limit: z.coerce.number().int().min(1).max(100).prefault(10) });
  const url = (q: string) => new URL(`http://api.test/v1/x${q}`);
  const first = parseQuery(url("?limit=5"), schema);
  assert.deepEqual(first, { limit: 5 });
  assert.equal(parseQuery(url("?limit=5"), schema), first, "the parsed query is reused");
  assert.ok(Object.isFrozen(first), "shared, so it cannot be changed");
  assert.deepEqual(parseQuery(url(""), schema), { limit: 10 });
  for (let i = 0; i < 2; i++) {
    assert.throws(
      () => parseQuery(url("?limit=0"), schema),
      (e) => e instanceof HttpError && e.status === 400,
    );
    assert.throws(() => parseQuery(url("?limt=5"), schema), /not a parameter/);
  }
  // Another schema does not see the first one's answers.
  const other = z.strictObject({ limit: z.string() });
  assert.deepEqual(parseQuery(url("?limit=5"), other), { limit: "5" });
});

Deno.test("contentCoding() takes what the client rates higher, br when it rates both alike, none when it takes neither", () => {
  const cases: [string | null, string | undefined][] = [
    [null, undefined],
    ["", undefined],
    ["identity", undefined],
    ["deflate", undefined],
    ["gzip", "gzip"],
    ["x-gzip", "gzip"],
    ["br", "br"],
    ["gzip, deflate, br, zstd", "br"],
    ["GZIP;q=1.0, BR;q=1.0", "br"],
    ["br;q=0.5, gzip", "gzip"],
    ["br;q=0, gzip;q=0.1", "gzip"],
    ["gzip;q=0, br;q=0", undefined],
    ["*", "br"],
    ["*;q=0.5, br;q=0", "gzip"],
    ["gzip;q=nonsense", undefined],
  ];
  for (const [header, want] of cases) assert.equal(contentCoding(header), want, String(header));
});

Deno.test("compressed() compresses a body once however often it is asked for, and each coding round-trips", async () => {
  const body = new TextEncoder().encode(JSON.stringify({ items: "circle ".repeat(500) }));
  const gzip = await compressed(body, "gzip");
  assert.equal(await compressed(body, "gzip"), gzip, "the same bytes, not compressed again");
  const br = await compressed(body, "br");
  assert.equal(await compressed(body, "br"), br);
  assert.ok(br.byteLength < body.byteLength && gzip.byteLength < body.byteLength);
  assert.deepEqual(new Uint8Array(brotliDecompressSync(br)), body);
  const gunzipped = await new Response(
    new Blob([gzip as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
      new DecompressionStream("gzip"),
    ),
  ).arrayBuffer();
  assert.deepEqual(new Uint8Array(gunzipped), body);
  // An equal body that is another object (a fresh answer) is compressed for itself.
  assert.notEqual(await compressed(body.slice(), "gzip"), gzip);
});
