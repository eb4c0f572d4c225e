/**
 * Test data: display names and a handle that have broken SVG documents, or could reorder the
 * text around them, for the API's and the site's tests alike.
 */

/** Names people have given themselves: each one once broke the SVG or could have. */
export const HOSTILE_NAMES = [
  "Null\u0000Bell\u0007Escape\u001bEnd",
  "tab\tnewline\ncarriage\rform\ffeed",
  "non\ufffechar\uffffacters",
  "lone \ud800 surrogate \udfff",
  "invoice\u202Egpj.exe",
  "\u2067isolated\u2069 \u202Bembedded\u202C \u202Doverride",
  "]]> <![CDATA[ x ]]>",
  `<script>alert("x")</script><b onload='y'>&amp;`,
  "👩‍👩‍👧‍👦 🏳️‍🌈 ❤️ 🇧🇷",
  "x".repeat(64),
  "👩‍👩‍👧‍👦".repeat(25) + "abcdefghijklmno",
  "y".repeat(2000) + "\u0000",
];
/** A handle of the network's greatest length, 253 characters. */
export const LONGEST_HANDLE = ["a".repeat(63), "b".repeat(63), "c".repeat(63), "d".repeat(61)]
  .join(".");
