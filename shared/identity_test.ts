import assert from "node:assert/strict";
import { didDocumentUrl, didWebUrl, fetchDidDocument, isResolvableDid } from "./identity.ts";
import { UnsafeTargetError } from "./public_fetch.ts";

const PLC = "https://plc.example.com";
const PLC_DID = "did:plc:ewvi7nxzyoun6zhxrhs64oiz";

Deno.test("didWebUrl() maps a did:web to its document as the did:web method says", () => {
  const cases: [string, string][] = [
    ["did:web:example.com", "https://example.com/.well-known/did.json"],
    ["did:web:Example.COM", "https://example.com/.well-known/did.json"],
    ["did:web:example.com%3A8443", "https://example.com:8443/.well-known/did.json"],
    ["did:web:example.com%3a8443", "https://example.com:8443/.well-known/did.json"],
    ["did:web:example.com:user:alice", "https://example.com/user/alice/did.json"],
    ["did:web:example.com%3A3000:u:bob", "https://example.com:3000/u/bob/did.json"],
  ];
  for (const [did, url] of cases) assert.equal(didWebUrl(did)?.href, url, did);
});

Deno.test("didWebUrl() refuses anything percent-encoded but the port's colon, and hosts that are not DNS names", () => {
  for (
    const did of [
      "did:web:evil.com%2F..%2Fadmin",
      "did:web:evil.com%2Fpath",
      "did:web:evil.com%3Fq=1",
      "did:web:user%40evil.com",
      "did:web:evil.com%23frag",
      "did:web:evil.com%253A80",
      "did:web:evil.com:pa%2Fth",
      "did:web:example.com%3A",
      "did:web:example.com%3A0",
      "did:web:example.com%3A99999",
      "did:web:example.com%3A80%3A81",
      "did:web:-bad.com",
      "did:web:bad_host.com",
      "did:web:example.com::alice",
      "did:web:example.com:..",
      "did:web:",
      "did:plc:ewvi7nxzyoun6zhxrhs64oiz",
    ]
  ) assert.equal(didWebUrl(did), undefined, did);
});

Deno.test("didDocumentUrl() asks the PLC directory only for well-formed did:plc values", () => {
  assert.equal(didDocumentUrl(PLC_DID, PLC)?.href, `${PLC}/${PLC_DID}`);
  for (
    const did of [
      "did:plc:short",
      "did:plc:ewvi7nxzyoun6zhxrhs64oi", // 23
      "did:plc:ewvi7nxzyoun6zhxrhs64oizz", // 25
      "did:plc:EWVI7NXZYOUN6ZHXRHS64OIZ",
      "did:plc:ewvi7nxzyoun6zhxrhs64oi0", // 0 is not base32
      "did:plc:ewvi7nxzyoun6zhxrhs64oi1",
      "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
    ]
  ) {
    assert.equal(didDocumentUrl(did, PLC), undefined, did);
    assert.equal(isResolvableDid(did), false, did);
  }
  assert.ok(isResolvableDid(PLC_DID));
  assert.ok(isResolvableDid("did:web:example.com"));
});

Deno.test("fetchDidDocument() does not fetch a did:web on a private host unless private networks are allowed", async () => {
  let requests = 0;
  await using host = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, () => {
    requests++;
    return Response.json({ id: "did:web:x", service: [] });
  });
  for (const name of ["127.0.0.1", "localhost"]) {
    const did = `did:web:${name}%3A${host.addr.port}`;
    await assert.rejects(fetchDidDocument(did, PLC), UnsafeTargetError, did);
  }
  assert.equal(requests, 0, "nothing reached the host");
  // did:web documents are https; a local test host speaks http, so only the guard is shown.
  const seen: string[] = [];
  const recording: typeof fetch = (input) => {
    seen.push(String(input));
    return Promise.resolve(Response.json({ id: "did:web:localhost" }));
  };
  const did = `did:web:localhost%3A${host.addr.port}`;
  const doc = await fetchDidDocument(did, PLC, { fetch: recording, allowPrivate: true });
  assert.equal(doc?.id, "did:web:localhost");
  assert.deepEqual(seen, [`https://localhost:${host.addr.port}/.well-known/did.json`]);
});
