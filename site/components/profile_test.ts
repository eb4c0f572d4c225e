import assert from "node:assert/strict";
import {
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
    // WCAG 2's contrast of white text on it, from the definition.
    const [r, g, b] = [1, 3, 5].map((k) => {
      const c = parseInt(colour.slice(k, k + 2), 16) / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    const ratio = 1.05 / (0.2126 * r + 0.7152 * g + 0.0722 * b + 0.05);
    assert.ok(ratio >= 4.5, `${colour}: ${ratio}`);
  }
});
