import assert from "node:assert/strict";
import { encode } from "@atcute/cbor";
import { decodeRecord, decodeRecordOf } from "./frame.ts";
import { recordFacts } from "./normalize.ts";

const post = (langs: unknown) => ({
  $type: "app.bsky.feed.post",
  text: "olá",
  createdAt: "2026-01-01T00:00:00.000Z",
  ...(langs === undefined ? {} : { langs }),
});

Deno.test("a post's facts carry its languages: primary subtags, lowercased, distinct, at most three", () => {
  const cases: [unknown, string[] | undefined][] = [
    [["pt-BR"], ["pt"]],
    [["EN", "en-GB"], ["en"]],
    [["x-klingon", "ja", "ko", "zh-Hant", "fr"], ["ja", "ko", "zh"]],
    [["i-navajo", "", 5, "english"], undefined],
    ["en", undefined],
    [undefined, undefined],
  ];
  for (const [langs, want] of cases) {
    const facts = recordFacts("app.bsky.feed.post", "3k", post(langs));
    assert.deepEqual(facts.langs, want, JSON.stringify(langs));
    assert.equal(facts.chars, 3, "the rest of the facts as before");
  }
  // Only posts have languages.
  const like = recordFacts("app.bsky.feed.like", "3k", {
    $type: "app.bsky.feed.like",
    subject: { uri: "at://did:plc:aaaaaaaaaaaaaaaaaaaaaaaa/app.bsky.feed.post/3k", cid: "bafy" },
    langs: ["en"],
  });
  assert.equal(like.langs, undefined);
});

Deno.test("the relay path reads a post's langs from its CBOR as the full decode does", () => {
  for (const langs of [["de-AT", "it"], ["EN", "x-priv", "und"], []]) {
    const block = encode(post(langs));
    const projected = decodeRecordOf("app.bsky.feed.post", block) as Record<string, unknown>;
    assert.deepEqual(projected.langs, langs);
    assert.deepEqual(
      recordFacts("app.bsky.feed.post", "3k", projected),
      recordFacts("app.bsky.feed.post", "3k", decodeRecord(block)),
    );
  }
});
