import assert from "node:assert/strict";
import { didKey, didOfKey, KEY_NAMES, keyPrefix, keyValues, storeKeys } from "./layout.ts";

Deno.test("storeKeys spell every key as the data in Redis has it", () => {
  // The names stored data lives under: changing one would need a migration.
  assert.equal(storeKeys.log(42, 2900), "l:{42}:2900");
  assert.equal(storeKeys.records(7, 362_500), "r:{7}:362500");
  assert.equal(storeKeys.slotRecords("ab", 362_500, 7), "r:{ab}:362500:7");
  assert.equal(storeKeys.recordBuckets, "rb:{g}");
  assert.equal(storeKeys.graph(42), "g:{42}");
  assert.equal(storeKeys.profile(42), "p:{42}");
  assert.equal(storeKeys.handles, "hx:{g}");
  assert.equal(storeKeys.hidden, "hidden:{g}");
  assert.equal(storeKeys.optCode("AB12CD34"), "oc:{g}:AB12CD34");
  assert.equal(storeKeys.didToId, "ids:{ids}:did");
  assert.equal(storeKeys.idToDid(127), "ids:{ids}:r:0");
  assert.equal(storeKeys.idToDid(128), "ids:{ids}:r:1");
  assert.equal(storeKeys.idToDid(1_000_000), "ids:{ids}:r:7812");
  assert.equal(storeKeys.nextId, "ids:{ids}:next");
  assert.equal(storeKeys.lease(3), "idx:{firehose}:lease:3");
  assert.equal(storeKeys.parked, "idx:{firehose}:parked");
  assert.equal(storeKeys.settings, "settings:{g}");
  // A "*" value makes a SCAN pattern.
  assert.equal(storeKeys.log("*", 2900), "l:{*}:2900");
  assert.equal(storeKeys.optCode("*"), "oc:{g}:*");
  // Given to map(), a key function takes only its own values.
  assert.deepEqual([1, 2].map(storeKeys.profile), ["p:{1}", "p:{2}"]);
  assert.deepEqual([1, 2].map(storeKeys.idToDid), ["ids:{ids}:r:0", "ids:{ids}:r:0"]);
});

Deno.test("key names are plain text a Lua string can hold, and every value is marked", () => {
  for (const [name, template] of Object.entries(KEY_NAMES)) {
    assert.match(template, /^[a-z:{}<>]+$/i, name);
    // Between values there is text: a key never runs two values together.
    assert.doesNotMatch(template, /></, name);
  }
});

Deno.test("keyValues() and keyPrefix() read a key back by its kind", () => {
  assert.deepEqual(keyValues("log", "l:{42}:2900"), ["42", "2900"]);
  assert.deepEqual(keyValues("profile", "p:{42}"), ["42"]);
  assert.deepEqual(keyValues("handles", "hx:{g}"), []);
  assert.equal(keyValues("profile", "p:{42}:x"), undefined);
  assert.equal(keyValues("profile", "l:{42}:2900"), undefined);
  assert.equal(keyValues("log", "l:{42}"), undefined);
  assert.equal(keyValues("graph", "g:{}"), undefined, "a value is never empty");
  assert.equal(keyPrefix("log"), "l:{");
  assert.equal(keyPrefix("records"), "r:{");
  assert.equal(keyPrefix("optCode"), "oc:{g}:");
  assert.equal(keyPrefix("hidden"), "hidden:{g}");
  for (const [name, template] of Object.entries(KEY_NAMES)) {
    assert.ok(template.startsWith(keyPrefix(name as keyof typeof KEY_NAMES)), name);
  }
});

Deno.test("didKey() keeps a did:plc in 16 bytes and gives every DID back", () => {
  const plc = "did:plc:ewvi7nxzyoun6zhxrhs64oiz";
  const key = didKey(plc);
  assert.ok(key instanceof Uint8Array && key.length === 16 && key[0] === 0);
  assert.equal(didOfKey(key), plc);
  for (const did of ["did:plc:aaaaaaaaaaaaaaaaaaaaaaaa", "did:plc:777777777777777777777777"]) {
    assert.equal(didOfKey(didKey(did) as Uint8Array), did);
  }
  assert.notDeepEqual(
    didKey("did:plc:aaaaaaaaaaaaaaaaaaaaaaab"),
    didKey("did:plc:aaaaaaaaaaaaaaaaaaaaaaaa"),
  );
  // Anything else is kept as its text.
  for (const did of ["did:web:example.com", "did:plc:UPPERCASEisnotbase32xxxx", "did:plc:short"]) {
    assert.equal(didKey(did), did);
    assert.equal(didOfKey(new TextEncoder().encode(did)), did);
  }
});
