import assert from "node:assert/strict";
import { circlesPost, composeHref, graphemes, POST_GRAPHEMES } from "./share.ts";

Deno.test("graphemes counts what a person sees as one character", () => {
  assert.equal(graphemes("abc"), 3);
  assert.equal(graphemes("e\u0301"), 1);
  assert.equal(graphemes("👍🏽👨‍👩‍👧"), 2);
});

Deno.test("the composer's address carries the text encoded once, and decodes back to it", () => {
  const text = "Círculos de @ana.test\nhttps://x.test/c/ana.test?rings=2&bg=ffffff #1 100%";
  const href = composeHref(text);
  assert.match(href, /^https:\/\/bsky\.app\/intent\/compose\?text=[^&#]+$/);
  assert.equal(new URL(href).searchParams.get("text"), text);
});

Deno.test("a circles post keeps the address whole and adds the handles that fit", () => {
  const url = "https://circles.example/c/ana.test?rings=2";
  const handles = ["bo.test", "cy.test", "di.test"];
  assert.equal(
    circlesPost("Circles of @ana.test", url, handles),
    `Circles of @ana.test\n${url}\n@bo.test @cy.test @di.test`,
  );
  // Many long handles: as many as fit, in order, within the limit.
  const many = Array.from({ length: 40 }, (_, i) => `someone-${i}.bsky.social`);
  const post = circlesPost("Circles of @ana.test", url, many);
  assert.ok(graphemes(post) <= POST_GRAPHEMES, `${graphemes(post)} graphemes`);
  assert.ok(post.includes(url));
  const kept = post.split("\n")[2].split(" ");
  assert.deepEqual(kept, many.slice(0, kept.length).map((h) => `@${h}`));
  assert.ok(graphemes(`${post} @${many[kept.length]}`) > POST_GRAPHEMES, "the next did not fit");
  // Emoji count as one each.
  const emoji = "🎉".repeat(280);
  assert.equal(circlesPost(emoji, "https://x.test/c/a", ["b.test"]).split("\n").length, 2);
  // An address too long for a lead beside it is given alone, never cut.
  const long = `https://x.test/c/${"a".repeat(290)}`;
  assert.equal(circlesPost("Circles", long, ["b.test"]), long);
  // An address with many options gives way to the page's plain one, so the post stays within.
  const plain = "https://x.test/c/ana.test";
  const optioned = `${plain}?exclude=${
    Array.from({ length: 20 }, (_, i) => `friend${i}.example.com`)
  }`;
  const short = circlesPost("Circles of @ana.test", optioned, ["b.test"], POST_GRAPHEMES, plain);
  assert.equal(short, `Circles of @ana.test\n${plain}\n@b.test`);
  assert.ok(graphemes(circlesPost("x".repeat(299), optioned, [], POST_GRAPHEMES, plain)) <= 300);
});
