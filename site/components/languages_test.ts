import assert from "node:assert/strict";
import { formatShare, languageName } from "./languages.ts";

Deno.test("languageName() names a language in the page's language, its code when unknown", () => {
  assert.equal(languageName("pt", "en"), "Portuguese");
  assert.equal(languageName("pt", "pt"), "Português");
  assert.equal(languageName("ja", "en"), "Japanese");
  assert.equal(languageName("de", "pt"), "Alemão");
  assert.equal(languageName("qaa", "en"), "qaa", "reserved for local use: no name");
  assert.equal(languageName("<b>", "en"), "<b>");
});

Deno.test("formatShare() prints shares as percentages people read", () => {
  assert.equal(formatShare(0.6123, "en"), "61 %");
  assert.equal(formatShare(0.0456, "en"), "4.6 %");
  assert.equal(formatShare(0.0456, "pt"), "4,6 %");
  assert.equal(formatShare(0.0004, "en"), "< 0.1 %");
  assert.equal(formatShare(0, "en"), "0 %");
});
