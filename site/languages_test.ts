import assert from "node:assert/strict";
import { encodeEvent, EVENT_VERSION } from "@bsky/shared/events";
import { firehoseKeys, type LanguageIndex, statsKeys } from "@bsky/shared/keys";
import { created } from "@bsky/shared/testing/events";
import { ALICE, BOB, CAROL, withStack } from "./testing/stack.ts";

const text = async (res: Response) => ({ status: res.status, html: await res.text() });
const listed = (html: string) =>
  [...html.matchAll(/<li data-did="([^"]+)">.*?data-count="(\d+)"/g)].map((m) => [m[1], +m[2]]);

Deno.test("/top shows the top posters of a language, over 24 or 72 hours, with the languages that have lists", async () => {
  await withStack(async ({ get, redis }) => {
    const none = await text(await get("/top?metric=posts&language=pt"));
    assert.equal(none.status, 200);
    assert.match(none.html, /data-empty="top"/, "not computed yet");

    const computedAt = Date.now() - 3 * 60_000;
    const index: LanguageIndex = {
      computedAt,
      windows: {
        "24h": [{ lang: "en", posts: 9, posters: 3 }, { lang: "pt", posts: 4, posters: 2 }],
        "72h": [{ lang: "en", posts: 12, posters: 3 }, { lang: "pt", posts: 7, posters: 2 }],
      },
    };
    const list = (window: "24h" | "72h", lang: string, items: [string, number][]) =>
      redis.set(
        statsKeys.languageTop(window, lang),
        JSON.stringify({
          lang,
          window,
          computedAt,
          items: items.map(([did, count]) => ({ did, count })),
        }),
      );
    await list("24h", "pt", [[BOB, 3], [ALICE, 1]]);
    await list("72h", "pt", [[ALICE, 4], [BOB, 3]]);
    await list("24h", "en", [[CAROL, 9]]);
    await redis.set(statsKeys.languages, JSON.stringify(index));

    const pt = await text(await get("/top?metric=posts&language=pt"));
    assert.deepEqual(listed(pt.html), [[BOB, 3], [ALICE, 1]]);
    assert.match(pt.html, /<h2>Posts in Portuguese · 24 hours<\/h2>/);
    assert.match(pt.html, /aria-current="page"[^>]*>Posting most, by language</);
    // The languages with lists, by name, each a link; the 72-hour window next to 24 hours.
    assert.match(
      pt.html,
      /href="\/top\?metric=posts&amp;window=24h&amp;language=en"[^>]*>English</,
    );
    assert.match(pt.html, /<a href="\/top\?metric=posts&amp;window=72h&amp;language=pt">72 hours</);
    assert.doesNotMatch(pt.html, /window=7d&amp;language/);
    const wide = await text(await get("/top?metric=posts&language=pt&window=72h"));
    assert.deepEqual(listed(wide.html), [[ALICE, 4], [BOB, 3]]);

    // Without a language, the page's own: English here, Portuguese for a Portuguese reader.
    const en = await text(await get("/top?metric=posts"));
    assert.deepEqual(listed(en.html), [[CAROL, 9]]);
    // A window the language lists do not have falls back to theirs.
    const ptReader = await text(
      await get("/top?metric=posts&window=7d", { headers: { "accept-language": "pt-BR" } }),
    );
    assert.match(ptReader.html, /<h2>Posts em Português · 24 horas<\/h2>/);
    // What cannot be a language tag is said, naming it.
    const bad = await text(await get("/top?metric=posts&language=xx-bad"));
    assert.equal(bad.status, 400);
    assert.match(bad.html, /<p>Not valid: language\.<\/p>/);
    // A language without a list: said so, the language still offered.
    const ja = await text(await get("/top?metric=posts&language=ja"));
    assert.match(ja.html, /data-empty="language"/);
    assert.match(ja.html, /Nobody posted in this language in this window\./);
    assert.match(ja.html, /data-lang="ja"[^>]*>Japanese</);
  });
});

Deno.test("/live shows the share of posts by language, in the page's language", async () => {
  await withStack(async ({ get, redis }) => {
    const now = Date.now();
    const posts: [string[] | undefined, number][] = [[["en"], 3], [["pt", "en"], 1], [
      undefined,
      1,
    ]];
    let k = 0;
    for (const [langs, n] of posts) {
      for (let i = 0; i < n; i++, k++) {
        const e = created(ALICE, "app.bsky.feed.post", `p${k}`, {
          chars: 2,
          ...(langs ? { langs } : {}),
        }, now - 5000 + k);
        await redis.xadd(
          firehoseKeys.stream(0),
          `${now - 5000 + k}-0`,
          "v",
          String(EVENT_VERSION),
          "e",
          encodeEvent(e),
        );
      }
    }
    const live = await text(await get("/live"));
    assert.equal(live.status, 200);
    const shares = [
      ...live.html.matchAll(/<li data-lang="(\w+)">.*?data-share="([\d.]+)">([^<]+)</g),
    ]
      .map((m) => [m[1], Number(m[2]), m[3]]);
    assert.deepEqual(shares, [["en", 0.8, "80 %"], ["pt", 0.2, "20 %"]]);
    assert.match(live.html, /<h2 id="post-languages">Posts by language<\/h2>/);
    assert.match(live.html, /title="pt">Portuguese</);
    const pt = await text(await get("/live?lang=pt"));
    assert.match(pt.html, /title="pt">Português</);
    assert.match(pt.html, /Posts por idioma/);
  });
});
