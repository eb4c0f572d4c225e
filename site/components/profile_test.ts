import assert from "node:assert/strict";
import { contrastWithWhite, initialsOf, placeholderColour } from "./profile.ts";

Deno.test("initials tell people apart: two letters from the name, else the handle", () => {
  assert.equal(initialsOf({ displayName: "Maya Costa", handle: "maya.test" }), "MC");
  assert.equal(initialsOf({ displayName: "Lucía de la Fernández", handle: null }), "LF");
  assert.equal(initialsOf({ displayName: null, handle: "maya-costa.test" }), "MC");
  assert.equal(initialsOf({ displayName: "", handle: "aiko.test" }), "AI");
  assert.equal(initialsOf({ handle: "user012.test" }), "U2");
  assert.notEqual(initialsOf({ handle: "user012.test" }), initialsOf({ handle: "user013.test" }));
  assert.equal(initialsOf({ displayName: "émilie", handle: null }), "ÉM");
  assert.equal(initialsOf({ displayName: "  ", handle: null }), "?");
});

Deno.test("the placeholder's colour is stable per DID, differs between DIDs, and reads white text", () => {
  const dids = Array.from({ length: 200 }, (_, i) => `did:plc:${i.toString(36).padStart(24, "a")}`);
  const colours = dids.map(placeholderColour);
  assert.equal(placeholderColour(dids[0]), colours[0]);
  assert.ok(new Set(colours).size > 100, `${new Set(colours).size} colours for 200 DIDs`);
  for (const c of colours) {
    assert.match(c, /^#[0-9a-f]{6}$/);
    const rgb = [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16) / 255);
    assert.ok(contrastWithWhite(rgb) >= 4.5, `${c}: ${contrastWithWhite(rgb)}`);
  }
});
