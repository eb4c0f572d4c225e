import assert from "node:assert/strict";
import {
  isPostLanguages,
  languageCode,
  languageOfCode,
  postLanguages,
  primaryLanguage,
} from "./langs.ts";

Deno.test("primaryLanguage() keeps a tag's primary subtag of two or three letters, lowercased", () => {
  const cases: [unknown, string | undefined][] = [
    ["en", "en"],
    ["EN", "en"],
    ["pt-BR", "pt"],
    ["zh-Hant-TW", "zh"],
    ["sr-Latn", "sr"],
    ["kab", "kab"],
    ["yue-HK", "yue"],
    ["und", "und"],
    // Not a language: private use, grandfathered, too long or short, digits, other scripts.
    ["x-klingon", undefined],
    ["i-navajo", undefined],
    ["e", undefined],
    ["engl", undefined],
    ["english", undefined],
    ["en_US", undefined],
    ["e1", undefined],
    ["-en", undefined],
    ["", undefined],
    ["pt ", undefined],
    ["ελ", undefined],
    ["ＥＮ", undefined],
    ["en-" + "x".repeat(100), undefined],
    [7, undefined],
    [null, undefined],
    [["en"], undefined],
    [{ toString: () => "en" }, undefined],
  ];
  for (const [tag, want] of cases) assert.equal(primaryLanguage(tag), want, JSON.stringify(tag));
});

Deno.test("postLanguages() keeps up to three distinct languages in the order written, junk dropped", () => {
  assert.deepEqual(postLanguages(["pt-BR", "en"]), ["pt", "en"]);
  assert.deepEqual(postLanguages(["en-US", "EN-gb", "en"]), ["en"]);
  assert.deepEqual(postLanguages(["x-klingon", "ja", 3, "", "ja-JP", "ko"]), ["ja", "ko"]);
  assert.deepEqual(postLanguages(["de", "fr", "it", "es", "nl"]), ["de", "fr", "it"]);
  // Junk first does not use up the three.
  assert.deepEqual(postLanguages(["??", "q", "toolong", "ru", "uk", "be", "pl"]), [
    "ru",
    "uk",
    "be",
  ]);
  for (const none of [undefined, null, "en", {}, [], ["x-none", 12], [["en"]]]) {
    assert.equal(postLanguages(none), undefined, JSON.stringify(none));
  }
  // A hostile record's thousands of tags cost one pass and give at most three.
  const many = Array.from({ length: 10_000 }, (_, i) => (i % 2 ? "x-" : "") + "abc");
  assert.deepEqual(postLanguages(many), ["abc"]);
});

Deno.test("isPostLanguages() takes exactly what postLanguages() gives", () => {
  for (const ok of [["en"], ["pt", "en"], ["de", "fr", "kab"]]) assert.ok(isPostLanguages(ok));
  for (
    const bad of [[], ["EN"], ["pt-BR"], ["en", "en"], ["a", "b"], ["en", "pt", "de", "fr"], "en", [
      1,
    ]]
  ) {
    assert.ok(!isPostLanguages(bad), JSON.stringify(bad));
  }
});

Deno.test("languageCode() numbers every subtag once, in 15 bits, and languageOfCode() reads it back", () => {
  assert.equal(languageCode("aa"), 1);
  assert.equal(languageCode("zz"), 676);
  assert.equal(languageCode("aaa"), 677);
  assert.equal(languageCode("zzz"), 18_252);
  assert.ok(18_252 < 2 ** 15);
  const seen = new Set<number>();
  const letters = "abcdefghijklmnopqrstuvwxyz";
  for (const a of letters) {
    for (const b of letters) {
      for (const lang of [a + b, ...[...letters].map((c) => a + b + c)]) {
        const code = languageCode(lang);
        assert.ok(!seen.has(code), lang);
        seen.add(code);
        assert.equal(languageOfCode(code), lang);
      }
    }
  }
  assert.equal(seen.size, 18_252);
  for (const bad of [0, -1, 18_253, 1.5, NaN]) assert.equal(languageOfCode(bad), undefined);
  assert.throws(() => languageCode("EN"), RangeError);
  assert.throws(() => languageCode("x"), RangeError);
});
