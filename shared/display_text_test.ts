import assert from "node:assert/strict";
import {
  DISPLAY_NAME_MAX_BYTES,
  DISPLAY_NAME_MAX_GRAPHEMES,
  displayText,
  firstGrapheme,
  HANDLE_TEXT,
  isolate,
} from "./display_text.ts";

/** Every character XML 1.0 forbids: C0 controls but tab, LF, CR; U+FFFE; U+FFFF; surrogates. */
// deno-lint-ignore no-control-regex
const XML_FORBIDDEN = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|\p{Cs}/u;
const FAMILY = "👩‍👩‍👧‍👦"; // four people joined by ZWJ: one grapheme, 25 bytes
const graphemes = (s: string) =>
  [...new Intl.Segmenter(undefined, { granularity: "grapheme" }).segment(s)].length;
const bytes = (s: string) => new TextEncoder().encode(s).length;

Deno.test("displayText() removes every control character and keeps the letters around them", () => {
  const controls = Array.from({ length: 32 }, (_, i) => String.fromCharCode(i)).join("");
  const name = `A${controls}B\u007fC\u0080\u009fD`;
  const out = displayText(name);
  assert.doesNotMatch(out, XML_FORBIDDEN);
  assert.doesNotMatch(out, /\p{Cc}/u);
  assert.equal(out, "A BCD", "tab, LF, VT, FF and CR become one space");
});

Deno.test("displayText() makes one line of tabs and line breaks", () => {
  assert.equal(displayText("  Ana\tMaria\r\nSilva\u2028Jr\u2029 "), "Ana Maria Silva Jr");
});

Deno.test("displayText() drops U+FFFE, U+FFFF and other noncharacters, and mends lone surrogates", () => {
  assert.equal(displayText("a\ufffeb\uffffc\ufdd0d\u{1fffe}e"), "abcde");
  const lone = displayText("x\ud800y\udc00z");
  assert.equal(lone, "x\ufffdy\ufffdz");
  assert.doesNotMatch(lone, XML_FORBIDDEN);
});

Deno.test("displayText() drops bidi embeddings, overrides and isolates so a name cannot reorder what follows", () => {
  const spoof = "invoice\u202Egpj.exe\u202C";
  assert.equal(displayText(spoof), "invoicegpj.exe");
  for (
    const c of [
      "\u202A",
      "\u202B",
      "\u202C",
      "\u202D",
      "\u202E",
      "\u2066",
      "\u2067",
      "\u2068",
      "\u2069",
    ]
  ) {
    assert.equal(displayText(`a${c}b`), "ab", `U+${c.charCodeAt(0).toString(16)}`);
  }
  // Right-to-left text and the marks that act like letters stay.
  assert.equal(displayText("שלום\u200F עולם"), "שלום\u200F עולם");
});

Deno.test("displayText() leaves markup and ]]> to the writers that escape them", () => {
  assert.equal(
    displayText(`<script>alert("x")</script> ]]> &amp;`),
    `<script>alert("x")</script> ]]> &amp;`,
  );
});

Deno.test("displayText() keeps emoji sequences whole: ZWJ, variation selectors, flags and tags", () => {
  const name = `${FAMILY} ❤️ 🏳️‍🌈 🇧🇷 🏴󠁧󠁢󠁳󠁣󠁴󠁿 👍🏽`;
  assert.equal(displayText(name), name);
});

Deno.test("displayText() keeps a name at the profile lexicon's limits as it is", () => {
  const longest = "é".normalize("NFD").repeat(DISPLAY_NAME_MAX_GRAPHEMES);
  assert.equal(graphemes(longest), 64);
  assert.equal(displayText(longest), longest);
  const heaviest = FAMILY.repeat(25) + "abcdefghijklmno"; // 25 * 25 + 15 = 640 bytes
  assert.equal(bytes(heaviest), DISPLAY_NAME_MAX_BYTES);
  assert.equal(displayText(heaviest), heaviest);
});

Deno.test("displayText() cuts a longer name at a grapheme boundary, with an ellipsis, within both limits", () => {
  const many = "x".repeat(65);
  assert.equal(displayText(many), "x".repeat(63) + "…");
  const heavy = displayText(FAMILY.repeat(64));
  assert.ok(bytes(heavy) <= DISPLAY_NAME_MAX_BYTES, `${bytes(heavy)} bytes`);
  assert.ok(heavy.endsWith("…"));
  assert.equal(heavy, FAMILY.repeat(25) + "…", "whole families only");
  const handle = "a".repeat(63) + "." + "b".repeat(63) + "." + "c".repeat(63) + ".d" +
    "e".repeat(60);
  assert.equal(handle.length, 253);
  assert.equal(displayText(`@${handle}`, HANDLE_TEXT), `@${handle}`);
});

Deno.test("displayText() gives an empty string for what is not a string", () => {
  for (const v of [undefined, null, 42, {}, ["a"]]) assert.equal(displayText(v), "");
});

Deno.test("firstGrapheme() gives the first printable grapheme, upper-cased", () => {
  assert.equal(firstGrapheme("alice.test"), "A");
  assert.equal(firstGrapheme("\u0001\u202Ebob"), "B");
  assert.equal(firstGrapheme(`${FAMILY} family`), FAMILY);
  assert.equal(firstGrapheme("\u0000\t"), "");
  assert.equal(firstGrapheme(undefined), "");
});

Deno.test("isolate() wraps a text in first-strong and pop isolates, and leaves an empty one", () => {
  assert.equal(isolate("שלום"), "\u2068שלום\u2069");
  assert.equal(isolate(""), "");
});
