import assert from "node:assert/strict";
import {
  contrastWithWhite,
  initialsOf,
  PLACEHOLDER_HUES,
  placeholderClass,
  placeholderColourOfHue,
} from "./profile.ts";

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

Deno.test("the placeholder's class is stable per DID, spread over the palette, and each colour reads white text", async () => {
  const dids = Array.from({ length: 500 }, (_, i) => `did:plc:${i.toString(36).padStart(24, "a")}`);
  const classes = dids.map(placeholderClass);
  assert.equal(placeholderClass(dids[0]), classes[0]);
  assert.equal(new Set(classes).size, PLACEHOLDER_HUES, "every colour is used");
  // The stylesheet holds each hue's colour, as placeholderColourOfHue works it out.
  const css = await Deno.readTextFile(new URL("../static/style.css", import.meta.url));
  for (let i = 0; i < PLACEHOLDER_HUES; i++) {
    const colour = placeholderColourOfHue(i * 360 / PLACEHOLDER_HUES);
    assert.ok(css.includes(`.ph-${i} {\n  background: ${colour};\n}`), `.ph-${i} is ${colour}`);
    const rgb = [1, 3, 5].map((k) => parseInt(colour.slice(k, k + 2), 16) / 255);
    assert.ok(contrastWithWhite(rgb) >= 4.5, `${colour}: ${contrastWithWhite(rgb)}`);
  }
});
