import assert from "node:assert/strict";
import { InvalidInputError } from "@bsky/shared/errors";
import { DEFAULT_LIMITS, graphemeLength, recordFacts } from "./normalize.ts";

const timeline = JSON.parse(
  await Deno.readTextFile(
    new URL("../testdata/records/atproto-dart-2023/getTimeline.json", import.meta.url),
  ),
);

/** Every post record in the response (feed items, reply parents and roots, embeds). */
function posts(): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const walk = (x: unknown) => {
    if (Array.isArray(x)) return x.forEach(walk);
    if (x === null || typeof x !== "object") return;
    const o = x as Record<string, unknown>;
    if (o.$type === "app.bsky.feed.post" && typeof o.text === "string") out.push(o);
    Object.values(o).forEach(walk);
  };
  walk(timeline);
  return out;
}

const did = (uri: string) => uri.split("/")[2];
const reason = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    if (err instanceof InvalidInputError) return err.reason;
    throw err;
  }
  return "kept";
};

Deno.test("recordFacts() finds the reply, quote and mention targets of 525 real posts", () => {
  const all = posts();
  assert.equal(all.length, 525);
  let replies = 0, quotes = 0, mentioned = 0;
  for (const post of all) {
    const facts = recordFacts("app.bsky.feed.post", "3jzfcijpj2z2a", post);
    const reply = post.reply as { parent: { uri: string }; root: { uri: string } } | undefined;
    if (reply) {
      replies++;
      assert.equal(facts.parent, did(reply.parent.uri));
      assert.equal(facts.root, did(reply.root.uri));
    } else assert.equal(facts.parent, undefined);
    // deno-lint-ignore no-explicit-any
    const embed = post.embed as Record<string, any> | undefined;
    const quoted = embed?.$type === "app.bsky.embed.record"
      ? embed.record.uri
      : embed?.$type === "app.bsky.embed.recordWithMedia"
      ? embed.record.record.uri
      : undefined;
    if (quoted) quotes++;
    assert.equal(facts.quote, quoted && did(quoted));
    const dids = ((post.facets ?? []) as { features: Record<string, string>[] }[])
      .flatMap((f) => f.features)
      .filter((f) => f.$type === "app.bsky.richtext.facet#mention")
      .map((f) => f.did);
    if (dids.length) mentioned++;
    assert.deepEqual(facts.mentions, dids.length ? [...new Set(dids)] : undefined);
    assert.equal(facts.chars, graphemeLength(post.text as string));
  }
  assert.equal(replies, 240);
  assert.equal(quotes, 28);
  assert.ok(mentioned >= 20);
});

const AUTHOR = "did:plc:ewvi7nxzyoun6zhxrhs64oiz";
const POST_URI = `at://${AUTHOR}/app.bsky.feed.post/3k2yihcrp6f2c`;

Deno.test("recordFacts() counts a post that is a reply, a quote with media and a mention at once", () => {
  const facts = recordFacts("app.bsky.feed.post", "3k2yihcrp6f2c", {
    $type: "app.bsky.feed.post",
    text: "héllo 👩‍👩‍👧 @a.test @a.test",
    createdAt: "2024-01-01T00:00:00Z",
    reply: { root: { uri: POST_URI, cid: "x" }, parent: { uri: POST_URI, cid: "x" } },
    embed: {
      $type: "app.bsky.embed.recordWithMedia",
      record: { record: { uri: "at://did:plc:quoted/app.bsky.feed.post/3k2", cid: "x" } },
      media: { $type: "app.bsky.embed.images", images: [] },
    },
    facets: [
      {
        index: { byteStart: 0, byteEnd: 1 },
        features: [{ $type: "app.bsky.richtext.facet#mention", did: "did:plc:m1" }],
      },
      {
        index: { byteStart: 2, byteEnd: 3 },
        features: [{ $type: "app.bsky.richtext.facet#mention", did: "did:plc:m1" }],
      },
      {
        index: { byteStart: 4, byteEnd: 5 },
        features: [{ $type: "app.bsky.richtext.facet#link", uri: "https://x" }],
      },
    ],
    someFutureField: { nested: true },
  });
  assert.deepEqual(facts, {
    chars: 23,
    parent: AUTHOR,
    root: AUTHOR,
    quote: "did:plc:quoted",
    mentions: ["did:plc:m1"],
  });
});

Deno.test("graphemeLength() agrees with Intl.Segmenter on real posts and on mixed random text", () => {
  const segmenter = new Intl.Segmenter(undefined, { granularity: "grapheme" });
  const reference = (s: string) => [...segmenter.segment(s)].length;
  const texts = posts().map((p) => p.text as string);
  // Random strings drawn from characters that do and do not cluster.
  const pool = [
    "a",
    "é",
    "e\u0301",
    "\r",
    "\n",
    "\r\n",
    "👩",
    "\u200d",
    "🏽",
    "🇧",
    "🇷",
    "\ufe0f",
    "1",
    "\u20e3",
    "각",
    "\u1100",
    "\u1161",
    "\u11a8",
    "\u0600",
    "ก",
    "\u0e33",
    "ｶ",
    "\uff9e",
    "✨",
    "中",
    "\ud83d",
    "ब",
    "\u093f",
    "\u094d",
    "ष",
    " ",
    "@",
    "\u0915",
    "\u200c",
    "🐈",
    "⬛",
    "\u{e0067}",
  ];
  let seed = 7;
  const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
  for (let i = 0; i < 3000; i++) {
    texts.push(Array.from({ length: 1 + rand(12) }, () => pool[rand(pool.length)]).join(""));
  }
  const wrong = texts.filter((t) => graphemeLength(t) !== reference(t));
  assert.deepEqual(wrong, []);
});

Deno.test("graphemeLength() counts user-perceived characters, not code units", () => {
  assert.equal(graphemeLength("abc"), 3);
  assert.equal(graphemeLength("a\r\nb"), 3);
  assert.equal(graphemeLength("👩‍👩‍👧"), 1);
  assert.equal(graphemeLength("ção"), 3);
  assert.equal(graphemeLength("🇧🇷🇵🇹"), 2);
});

Deno.test("recordFacts() finds an opt-out or opt-in code in a post's text, and only a whole one", () => {
  const post = (text: string) =>
    recordFacts("app.bsky.feed.post", "3k", { $type: "app.bsky.feed.post", text, createdAt: "" });
  assert.equal(post("Hiding from circles: circles-out-K7Q2X9PM thanks").opt, "out:K7Q2X9PM");
  assert.equal(post("Circles-in-k7q2x9pm").opt, "in:K7Q2X9PM", "autocapitalized, lower case");
  for (
    const text of [
      "circles-out-K7Q2X9P", // too short
      "circles-out-K7Q2X9PMM", // too long
      "circles-out-K7Q2X9P0", // 0 is not in the alphabet
      "circles-up-K7Q2X9PM",
      "xcircles-out-K7Q2X9PM",
      "just a post about circles",
    ]
  ) assert.equal(post(text).opt, undefined, text);
  // Real posts carry none.
  assert.ok(posts().every((p) => recordFacts("app.bsky.feed.post", "3k", p).opt === undefined));
});

Deno.test("recordFacts() keeps the subject DID of likes, reposts, blocks and follows", () => {
  const like = { $type: "app.bsky.feed.like", subject: { uri: POST_URI, cid: "x" }, createdAt: "" };
  assert.deepEqual(recordFacts("app.bsky.feed.like", "3k", like), { subject: AUTHOR });
  const repost = { ...like, $type: "app.bsky.feed.repost" };
  assert.deepEqual(recordFacts("app.bsky.feed.repost", "3k", repost), { subject: AUTHOR });
  for (const c of ["app.bsky.graph.block", "app.bsky.graph.follow"] as const) {
    assert.deepEqual(recordFacts(c, "3k", { $type: c, subject: AUTHOR, createdAt: "" }), {
      subject: AUTHOR,
    });
  }
});

Deno.test("recordFacts() reads a profile's display name and avatar CID", () => {
  const cid = "bafkreias7oxbr6swsuggccmtnqpoeami4jza5x4w3urltn6gzhqf4k6k2e";
  const facts = recordFacts("app.bsky.actor.profile", "self", {
    $type: "app.bsky.actor.profile",
    displayName: "Ana 🐈",
    avatar: { $type: "blob", ref: { $link: cid }, mimeType: "image/jpeg", size: 1000 },
  });
  assert.deepEqual(facts, { displayName: "Ana 🐈", avatar: cid });
  const legacy = recordFacts("app.bsky.actor.profile", "self", {
    $type: "app.bsky.actor.profile",
    avatar: { cid, mimeType: "image/png" },
  });
  assert.deepEqual(legacy, { avatar: cid });
});

Deno.test("recordFacts() drops invalid input with a stable reason", () => {
  const like = (uri: unknown) => ({ $type: "app.bsky.feed.like", subject: { uri, cid: "x" } });
  const cases: [string, () => unknown][] = [
    ["invalid_uri", () => recordFacts("app.bsky.feed.like", "k", like("https://example.com"))],
    [
      "invalid_uri",
      () => recordFacts("app.bsky.feed.like", "k", like(`at://bad did/app.bsky.feed.post/x`)),
    ],
    ["invalid_uri", () => recordFacts("app.bsky.feed.like", "k", like(undefined))],
    [
      "invalid_uri",
      () => recordFacts("app.bsky.feed.like", "k", like("at://handle.test/app.bsky.feed.post/x")),
    ],
    [
      "subject_not_post",
      () =>
        recordFacts("app.bsky.feed.like", "k", like(`at://${AUTHOR}/app.bsky.feed.generator/x`)),
    ],
    [
      "invalid_did",
      () =>
        recordFacts("app.bsky.graph.follow", "k", {
          $type: "app.bsky.graph.follow",
          subject: "did:PLC:x",
        }),
    ],
    [
      "invalid_did",
      () => recordFacts("app.bsky.graph.block", "k", { $type: "app.bsky.graph.block" }),
    ],
    [
      "invalid_record",
      () => recordFacts("app.bsky.feed.post", "k", { $type: "app.bsky.feed.post" }),
    ],
    [
      "invalid_record",
      () => recordFacts("app.bsky.feed.post", "k", { $type: "app.bsky.feed.like", text: "" }),
    ],
    ["invalid_record", () => recordFacts("app.bsky.feed.post", "k", "not an object")],
    [
      "invalid_record",
      () => recordFacts("app.bsky.actor.profile", "other", { $type: "app.bsky.actor.profile" }),
    ],
    ["invalid_did", () =>
      recordFacts("app.bsky.feed.post", "k", {
        $type: "app.bsky.feed.post",
        text: "",
        facets: [{ features: [{ $type: "app.bsky.richtext.facet#mention", did: "nope" }] }],
      })],
    ["invalid_uri", () =>
      recordFacts("app.bsky.feed.post", "k", {
        $type: "app.bsky.feed.post",
        text: "",
        reply: { parent: { uri: POST_URI }, root: { uri: "at://" } },
      })],
    ["too_many_mentions", () =>
      recordFacts("app.bsky.feed.post", "k", {
        $type: "app.bsky.feed.post",
        text: "",
        facets: Array.from({ length: DEFAULT_LIMITS.maxMentions + 1 }, (_, i) => ({
          features: [{ $type: "app.bsky.richtext.facet#mention", did: `did:plc:m${i}` }],
        })),
      })],
  ];
  assert.deepEqual(cases.map(([, fn]) => reason(fn)), cases.map(([r]) => r));
});

Deno.test("recordFacts() ignores a quote of something that is not a post", () => {
  const facts = recordFacts("app.bsky.feed.post", "k", {
    $type: "app.bsky.feed.post",
    text: "see this list",
    embed: {
      $type: "app.bsky.embed.record",
      record: { uri: `at://${AUTHOR}/app.bsky.graph.list/x` },
    },
  });
  assert.deepEqual(facts, { chars: 13 });
});
