import assert from "node:assert/strict";
import { DEFAULT_OPTIONS } from "./command.ts";
import { fitsPost, graphemes, POST_MAX_GRAPHEMES, richText } from "./richtext.ts";
import {
  ALT_MAX_GRAPHEMES,
  altText,
  circlesReply,
  cooldownReply,
  helpReply,
  nameOf,
  noDataReply,
  siteLink,
  topReply,
} from "./texts.ts";

const bytes = (s: string) => new TextEncoder().encode(s);
const slice = (text: string, start: number, end: number) =>
  new TextDecoder().decode(bytes(text).slice(start, end));

Deno.test("richText() measures each link in UTF-8 bytes, after accents and emoji", () => {
  const { text, facets } = richText([
    "Círculos 🐈‍⬛ de ",
    { text: "você", link: "https://circles.example/c/a" },
    " e ",
    { text: "ação", link: "https://circles.example/c/b" },
  ]);
  assert.equal(text, "Círculos 🐈‍⬛ de você e ação");
  assert.equal(facets.length, 2);
  assert.equal(slice(text, facets[0].index.byteStart, facets[0].index.byteEnd), "você");
  assert.equal(slice(text, facets[1].index.byteStart, facets[1].index.byteEnd), "ação");
  assert.equal(facets[1].index.byteEnd, bytes(text).length);
  assert.equal(facets[0].features[0].uri, "https://circles.example/c/a");
});

Deno.test("the replies fit in a post in both languages, the circles one with its link on the site", () => {
  for (const lang of ["en", "pt"] as const) {
    for (const window of ["24h", "7d", "30d"] as const) {
      for (const direction of ["both", "sent", "received", "mutual"] as const) {
        const o = { window, direction, rings: 3 as const };
        const link = siteLink("https://circles.example", { did: "did:plc:x", handle: "a.test" }, o);
        const { text, facets } = richText(circlesReply(lang, o, link));
        assert.ok(fitsPost(text));
        assert.equal(facets[0].features[0].uri, link);
        assert.ok(fitsPost(noDataReply(lang, window)));
      }
    }
    assert.ok(fitsPost(helpReply(lang)));
    assert.ok(graphemes(helpReply(lang)) < POST_MAX_GRAPHEMES);
  }
  assert.equal(cooldownReply("en", 1), "You asked a moment ago: try again in 1 minute.");
  assert.equal(cooldownReply("pt", 9.2), "Você pediu há pouco: tente de novo em 10 minutos.");
});

Deno.test("siteLink() names the account by its handle (or DID) with the options the image has", () => {
  const o = { window: "30d" as const, direction: "mutual" as const, rings: 2 as const };
  assert.equal(
    siteLink("https://circles.example", { did: "did:plc:x", handle: "Alice.Test" }, o),
    "https://circles.example/c/alice.test?rings=2&direction=mutual&window=30d",
  );
  assert.equal(
    siteLink("https://circles.example", { did: "did:plc:x", handle: "not a handle" }, o),
    "https://circles.example/c/did%3Aplc%3Ax?rings=2&direction=mutual&window=30d",
  );
});

Deno.test("altText() names everyone ring by ring; names from the network are sanitized, and a long list is cut between names", () => {
  const person = (n: number) => ({ did: `did:plc:p${n}`, handle: `p${n}.test`, displayName: null });
  const alt = altText("en", { did: "did:plc:o", handle: "owner.test" }, DEFAULT_OPTIONS, [
    [person(1), person(2)],
    [{ did: "did:plc:n", handle: null, displayName: "Zoë\u202e\u0000 🐈" }],
    [],
  ]);
  assert.equal(
    alt,
    "Interaction circles of @owner.test over the last 7 days (sent and received). " +
      "Inner ring: @p1.test, @p2.test. Second ring: Zoë 🐈.",
  );
  const pt = altText("pt", { did: "did:plc:o", handle: null }, DEFAULT_OPTIONS, [[person(1)]]);
  assert.equal(
    pt,
    "Círculos de interação de uma conta sem nome nos últimos 7 dias (enviadas e recebidas). " +
      "Anel interno: @p1.test.",
  );
  const long = (n: number) => ({ did: `did:plc:l${n}`, handle: `${"x".repeat(60)}${n}.test` });
  const many = altText("en", person(0), DEFAULT_OPTIONS, [
    Array.from({ length: 8 }, (_, i) => long(i)),
    Array.from({ length: 15 }, (_, i) => long(10 + i)),
    Array.from({ length: 26 }, (_, i) => long(30 + i)),
  ]);
  assert.ok(graphemes(many) <= ALT_MAX_GRAPHEMES);
  assert.match(many, /\.test …and more people\.$/);
  assert.equal(nameOf({ did: "did:plc:z", displayName: "  " }, "en"), "an account without a name");
});

Deno.test("topReply() lists as many accounts as fit in a post, at most ten", () => {
  const items = Array.from({ length: 30 }, (_, i) => ({
    did: `did:plc:t${i}`,
    handle: `${"h".repeat(i < 2 ? 5 : 40)}${i}.test`,
    count: 1000 - i,
  }));
  const text = topReply("en", items);
  assert.ok(fitsPost(text));
  const lines = text.split("\n");
  assert.equal(lines[0], "Most liked accounts over the last 24 hours:");
  assert.equal(lines[1], "1. @hhhhh0.test (1,000)");
  assert.ok(lines.length > 3 && lines.length <= 11, `${lines.length} lines`);
  assert.equal(
    topReply("pt", items.slice(0, 1)),
    "Contas mais curtidas nas últimas 24 horas:\n1. @hhhhh0.test (1.000)",
  );
});
