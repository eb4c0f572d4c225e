import assert from "node:assert/strict";
import {
  hasReservedTld,
  isValidAtUri,
  isValidDid,
  isValidHandle,
  isValidNsid,
  isValidPlcDid,
  isValidRecordKey,
  isValidTid,
  RESERVED_TLDS,
} from "./syntax.ts";

const vectors = new URL("../testdata/atproto-interop/syntax/", import.meta.url);

function lines(name: string): string[] {
  return Deno.readTextFileSync(new URL(name, vectors)).split("\n")
    .filter((l) => l.length > 0 && !l.startsWith("#"));
}

const cases: [string, (v: string) => boolean][] = [
  ["did", isValidDid],
  ["handle", isValidHandle],
  ["nsid", isValidNsid],
  ["recordkey", isValidRecordKey],
  ["tid", isValidTid],
  ["aturi", isValidAtUri],
];

for (const [name, check] of cases) {
  Deno.test(`${check.name}() accepts every valid ${name} interop vector`, () => {
    const valid = lines(`${name}_syntax_valid.txt`);
    assert.ok(valid.length > 3);
    assert.deepEqual(valid.filter((v) => !check(v)), []);
  });
  Deno.test(`${check.name}() rejects every invalid ${name} interop vector`, () => {
    const invalid = lines(`${name}_syntax_invalid.txt`);
    assert.ok(invalid.length > 3);
    assert.deepEqual(invalid.filter((v) => check(v)), []);
  });
}

Deno.test("isValidPlcDid() accepts only did:plc with 24 lowercase base32 characters", () => {
  assert.ok(isValidPlcDid("did:plc:ewvi7nxzyoun6zhxrhs64oiz"));
  for (
    const did of [
      "did:plc:ewvi7nxzyoun6zhxrhs64oi",
      "did:plc:ewvi7nxzyoun6zhxrhs64oizz",
      "did:plc:EWVI7NXZYOUN6ZHXRHS64OIZ",
      "did:plc:ewvi7nxzyoun6zhxrhs64o18",
      "did:web:example.com",
      "did:plc:",
    ]
  ) assert.equal(isValidPlcDid(did), false, did);
});

Deno.test("hasReservedTld() finds the top-level domains the handle specification disallows", () => {
  for (const tld of RESERVED_TLDS) {
    assert.ok(hasReservedTld(`someone.${tld}`), tld);
    assert.ok(hasReservedTld(`someone.${tld.toUpperCase()}`), tld);
  }
  assert.ok(hasReservedTld("handle.invalid"));
  for (const handle of ["alice.bsky.social", "bob.test", "local.example.com", "onion.dev"]) {
    assert.equal(hasReservedTld(handle), false, handle);
  }
});
