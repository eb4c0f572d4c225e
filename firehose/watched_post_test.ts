import assert from "node:assert/strict";
import { InvalidInputError } from "@bsky/shared/errors";
import { WATCHED_TEXT_MAX } from "@bsky/shared/events";
import { DEFAULT_LIMITS, recordFacts } from "./normalize.ts";
import { addWatched, watchedPost } from "./watched_post.ts";

Deno.test("addWatched() gives a post that mentions a watched account its text, langs, thread and CID", () => {
  const bot = "did:plc:bot", other = "did:plc:other";
  const cid = "bafyreiguce4jh7kcbmof3pmcvasifqtw24b6isakj5ve5ga2b4z4alpc4i";
  const ref = { uri: "at://did:plc:root/app.bsky.feed.post/3k2", cid };
  const post = (extra: Record<string, unknown>, mention = bot) => ({
    $type: "app.bsky.feed.post",
    text: "@bot.test bolas 7d",
    createdAt: "2026-07-04T14:38:08.999Z",
    facets: [{ features: [{ $type: "app.bsky.richtext.facet#mention", did: mention }] }],
    ...extra,
  });
  const watch = new Set([bot]);
  const facts = (record: Record<string, unknown>, read: () => unknown = () => record) => {
    const f = recordFacts("app.bsky.feed.post", "3k3", record);
    addWatched(f, { ...DEFAULT_LIMITS, watch }, read, () => cid);
    return f;
  };
  const reply = { root: { ...ref, rkey: "x" }, parent: ref };
  assert.deepEqual(facts(post({ langs: ["pt-BR", 7, "en"], reply })).watched, {
    cid,
    text: "@bot.test bolas 7d",
    langs: ["pt-BR", "en"],
    createdAt: "2026-07-04T14:38:08.999Z",
    root: ref,
    parent: ref,
  });
  assert.equal(facts(post({}, other)).watched, undefined, "another account's mention");
  // A thread without a strong ref, or a CID that is not one, cannot be replied to properly.
  const noCid = { root: ref, parent: { uri: ref.uri } };
  assert.equal(facts(post({ reply: noCid })).watched, undefined);
  assert.equal(watchedPost(post({}), "not a cid"), undefined);
  // The text is cut; a record that cannot be read whole keeps the facts the indexer needs.
  assert.equal(facts(post({ text: "x".repeat(5000) })).watched?.text.length, WATCHED_TEXT_MAX);
  const unreadable = facts(post({}), () => {
    throw new InvalidInputError("bad_record", "Cannot decode record");
  });
  assert.deepEqual(unreadable.mentions, [bot]);
  assert.equal(unreadable.watched, undefined);
});
