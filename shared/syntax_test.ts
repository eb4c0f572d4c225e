import assert from "node:assert/strict";
import {
  isValidAtUri,
  isValidDid,
  isValidHandle,
  isValidNsid,
  isValidRecordKey,
  isValidTid,
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
