import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { decode } from "fast-png";
import { ALICE, BOB, CAROL, EVE, pageScripts, RED_PNG, withStack } from "./testing/stack.ts";
import { writeLikesReceivedTop } from "./testing/top_list.ts";
import { HOSTILE_NAMES } from "@bsky/fart/testing/hostile_names";
import { parseXml, XML_FORBIDDEN } from "@bsky/fart/testing/xml";
import { created, nextSeq } from "@bsky/shared/testing/events";
import { ApiClient } from "./api.ts";
import { Applier } from "@bsky/store/apply";
import { loadSiteConfig } from "./config.ts";
import { MAX_URL_CHARS } from "./server/router.ts";
import type { Site } from "./app.ts";

const text = async (res: Response) => ({
  status: res.status,
  headers: res.headers,
  html: await res.text(),
});

Deno.test("the home page has a search form that works without JavaScript, in the visitor's language", async () => {
  await withStack(async ({ get }) => {
    const en = await text(await get("/"));
    assert.equal(en.status, 200);
    assert.match(en.html, /<html lang="en">/);
    assert.match(en.html, /<form action="\/search" method="get" role="search"/);
    assert.match(en.html, /data-island="HandleSearch"/);
    const pt = await text(
      await get("/", { headers: { "accept-language": "fr;q=0.9, pt-BR;q=0.8, en;q=0.5" } }),
    );
    assert.match(pt.html, /<html lang="pt-BR">/);
    assert.match(pt.html, /Ver círculos/);
    const chosen = await get("/about?lang=pt", { headers: { "accept-language": "en" } });
    assert.match(chosen.headers.get("set-cookie") ?? "", /^lang=pt;/);
    assert.match(await chosen.text(), /O que é contado/);
    const kept = await text(
      await get("/", { headers: { cookie: "lang=pt", "accept-language": "en" } }),
    );
    assert.match(kept.html, /<html lang="pt-BR">/);
    const search = await get("/search?q=%20@Alice.test%20");
    assert.equal(search.status, 303);
    assert.equal(search.headers.get("location"), "/c/alice.test");
  });
});

Deno.test("the search takes what people type: a bare name, @handle, a profile URL or a DID, and offers a list when several fit", async () => {
  await withStack(async ({ get, redis, apiCalls }) => {
    const to = async (q: string) => {
      const res = await get(`/search?q=${encodeURIComponent(q)}`);
      await res.body?.cancel();
      assert.equal(res.status, 303, q);
      return res.headers.get("location");
    };
    assert.equal(await to("alice"), "/c/alice.test", "the one handle starting with it");
    assert.equal(await to("@Alice.test"), "/c/alice.test");
    assert.equal(await to("https://bsky.app/profile/alice.test"), "/c/alice.test");
    assert.equal(
      await to("bsky.app/profile/did:plc:aaaaaaaaaaaaaaaaaaaaaaaa/post/1"),
      `/c/${ALICE}`,
      "a DID as it reads",
    );
    assert.equal(await to(` ${EVE} `), `/c/${EVE}`);
    assert.equal(await to("zed"), "/c/zed.bsky.social", "no handle starts with it");
    const typed = await get("/c/alice");
    await typed.body?.cancel();
    assert.equal(typed.headers.get("location"), "/search?q=alice");

    const twin = "did:plc:ffffffffffffffffffffffff";
    await new Applier(redis, { retentionDays: 30, memoryHours: 48 }).apply([
      {
        v: 1,
        kind: "identity",
        seq: nextSeq(),
        time: Date.now(),
        did: twin,
        handle: "carol2.test",
      },
    ]);
    const many = await text(await get("/search?q=carol"));
    assert.equal(many.status, 200, "several matches: a page to choose from");
    assert.match(many.html, /Handles starting with “carol”/);
    assert.match(many.html, /href="\/c\/carol.test"/);
    assert.match(many.html, /href="\/c\/carol2.test"/);
    assert.match(many.html, /data-island="HandleSearch"/);

    const calls = apiCalls.length;
    const odd = await text(await get("/search?q=%3Cb%3Ehi"));
    assert.equal(odd.status, 200);
    assert.match(odd.html, /No handle starts like that/);
    assert.equal(apiCalls.length, calls, "what cannot be a handle is not asked of the API");
  });
});

Deno.test("the circles page shows the API's circles, the people table, alt text and share card", async () => {
  await withStack(async ({ get }) => {
    const page = await text(await get("/c/alice.test"));
    assert.equal(page.status, 200, page.html);
    const rows = [
      ...page.html.matchAll(/<tr data-did="([^"]+)" data-handle="([^"]*)">(.*?)<\/tr>/g),
    ]
      .map(([, did, , row]) => [
        did,
        Object.fromEntries(
          [...row.matchAll(/data-col="(\w+)">(\d+)</g)].map(([, k, v]) => [k, Number(v)]),
        ),
      ]);
    assert.deepEqual(rows, [
      [BOB, { like: 3, repost: 0, reply: 0, quote: 0, mention: 0, score: 3 }],
      [CAROL, { like: 0, repost: 0, reply: 1, quote: 0, mention: 0, score: 3 }],
      [EVE, { like: 0, repost: 0, reply: 0, quote: 0, mention: 1, score: 2 }],
    ]);
    const alt = page.html.match(/<title id="circles-alt">([^<]*)</)![1];
    assert.equal(
      alt,
      "Interaction circles of \u2068Alice &lt;A>\u2069 (@alice.test) (Both, 30 days). " +
        "Ring 1: \u2068Bob\u2069 (@bob.test), @carol.test, @eve.test.",
    );
    assert.match(page.html, /<svg class="circles"[^>]*role="img" aria-labelledby="circles-alt"/);
    for (const did of [ALICE, BOB, CAROL, EVE]) {
      assert.match(page.html, new RegExp(`<g data-did="${did}"`));
    }
    assert.match(page.html, /<image href="\/avatar\/did%3Aplc%3Abbbb/);
    assert.match(
      page.html,
      /<meta property="og:image" content="http:\/\/site.test\/img\/alice.test.png\?width=1200"/,
    );
    assert.match(
      page.html,
      /<a id="download-png" class="button" href="\/img\/alice.test.png\?[^"]+" download="circles-alice.test.png"/,
    );
    assert.match(
      page.html,
      /<input id="share-url" type="text" readonly value="http:\/\/site.test\/c\/alice.test"/,
    );
    // Only this origin: every src and href is a path, or this site's own address; the one
    // link out is Bluesky's composer, which the browser opens only when it is followed.
    for (const [, attr, url] of page.html.matchAll(/\s(src|href)="([^"]*)"/g)) {
      if (attr === "href" && url.startsWith("https://bsky.app/intent/compose?text=")) continue;
      assert.ok(/^(\/|#|http:\/\/site\.test\/)/.test(url), `${attr}="${url}" stays on the site`);
    }
    const csp = page.headers.get("content-security-policy")!;
    assert.match(csp, /default-src 'self'/);
  });
});

Deno.test("names that are not fit to print still give a circles page, its SVG and its PNG", async () => {
  await withStack(async ({ get, redis }) => {
    // Carol and Eve, both in Alice's circle, call themselves the worst names there are.
    await new Applier(redis, { retentionDays: 30, memoryHours: 48 }).apply([
      created(
        CAROL,
        "app.bsky.actor.profile",
        "self",
        { displayName: HOSTILE_NAMES[0] },
        Date.now(),
      ),
      created(
        EVE,
        "app.bsky.actor.profile",
        "self",
        { displayName: HOSTILE_NAMES.join(" ") },
        Date.now(),
      ),
    ]);
    const page = await text(await get("/c/alice.test"));
    assert.equal(page.status, 200);
    assert.doesNotMatch(page.html, XML_FORBIDDEN);
    assert.doesNotMatch(page.html, /[\u202a-\u202e\u2066\u2067]/, "no override or embedding");
    assert.doesNotMatch(page.html, /<script>alert/);
    assert.match(page.html, /<bdi class="name">NullBellEscapeEnd<\/bdi>/);
    const alt = page.html.match(/<title id="circles-alt">([^<]*)</)![1];
    assert.ok(alt.includes("\u2068NullBellEscapeEnd\u2069 (@carol.test)"), alt);
    const svg = await get("/img/alice.test.svg");
    assert.equal(svg.status, 200);
    const titles = parseXml(await svg.text()).filter((e) => e.name === "title");
    assert.ok(titles.some((t) => t.text.includes("NullBellEscapeEnd")));
    const png = await get("/img/alice.test.png");
    assert.equal(png.status, 200);
    assert.equal(decode(new Uint8Array(await png.arrayBuffer())).width, 1200);
  });
});

Deno.test("options come from the URL: the API is asked for them, the form and share link keep them", async () => {
  await withStack(async ({ get, apiCalls }) => {
    const page = await text(
      await get("/c/alice.test?rings=1&direction=received&window=24h&bg=%23ffffff&date=0&date=1"),
    );
    assert.equal(page.status, 200);
    assert.ok(
      apiCalls.some((c) =>
        c.startsWith("/v1/circles/alice.test?rings=1&direction=received&window=24h")
      ),
    );
    assert.ok(
      apiCalls.some((c) =>
        c.startsWith("/v1/interactions/alice.test?direction=received&window=24h")
      ),
    );
    const rows = [...page.html.matchAll(/<tr data-did="([^"]+)"/g)].map((m) => m[1]);
    assert.deepEqual(rows, [BOB], "only Bob interacted with Alice");
    assert.match(
      page.html,
      /value="http:\/\/site.test\/c\/alice.test\?rings=1&amp;direction=received&amp;window=24h&amp;bg=ffffff"/,
    );
    assert.match(page.html, /<input type="radio" name="rings" value="1" checked/);
    assert.match(page.html, /<input type="radio" name="direction" value="received" checked/);
    assert.match(page.html, /<rect width="600" height="600" fill="#ffffff">/);
    const off = await text(await get("/c/alice.test?date=0"));
    assert.doesNotMatch(off.html, /<input type="checkbox" name="date" value="1" checked/);
    // A value no option can be is said, naming it, rather than drawn as something else.
    const odd = await text(await get("/c/@Alice.test?rings=9&window=1y&bg=%23ffffff"));
    assert.equal(odd.status, 400);
    assert.match(odd.html, /<p>Not valid: rings, window\.<\/p>/);
    for (
      const query of [
        "bg=zzz",
        "border=%3Cscript%3E",
        "names=maybe",
        "period=2020-01",
        "exclude=Ben%20Carter",
      ]
    ) {
      const bad = await text(await get(`/c/alice.test?${query}`));
      assert.equal(bad.status, 400, query);
      assert.match(bad.html, new RegExp(`Not valid: ${query.split("=")[0]}\\.`), query);
      assert.doesNotMatch(bad.html, /<script>/);
    }
    const image = await get("/img/alice.test.png?width=999999");
    assert.equal(image.status, 400);
    await image.body?.cancel();
    // What the form sends (colours with #, the date's hidden field and box, empty choices) is fine.
    const form = await get("/c/@Alice.test?bg=%230f172a&date=0&date=1&period=&exclude=&names=0");
    assert.equal(form.status, 301);
    assert.equal(form.headers.get("location"), "/c/alice.test");
  });
});

Deno.test("unknown handles, hidden accounts and an unreachable API get clear pages", async () => {
  await withStack(async ({ get }) => {
    const unknown = await text(await get("/c/nobody.test"));
    assert.equal(unknown.status, 404);
    assert.match(unknown.html, /data-error="not_found"/);
    assert.match(unknown.html, /Nobody by that handle/);
    const hidden = await text(await get("/c/dan.test"));
    assert.equal(hidden.status, 410);
    assert.match(hidden.html, /This account is not shown/);
    const nowhere = await text(await get("/nowhere"));
    assert.equal(nowhere.status, 404);
    assert.match(nowhere.html, /Page not found/);
  });
  await withStack(async ({ get }) => {
    for (const path of ["/c/alice.test", "/live", "/top"]) {
      const down = await text(await get(path, { headers: { "accept-language": "pt" } }));
      assert.equal(down.status, 503, path);
      assert.match(down.html, /Os dados estão fora de alcance/);
    }
    assert.equal((await get("/")).status, 200, "pages that need no data still work");
  }, { apiFetch: () => Promise.reject(new TypeError("Connection refused")) });
});

Deno.test("/optout gives a code for a handle, says what to post, and reports when it was seen", async () => {
  await withStack(async ({ get, redis }) => {
    const form = await text(await get("/optout", { headers: { "accept-language": "pt" } }));
    assert.equal(form.status, 200);
    assert.match(form.html, /<form method="post" action="\/optout"/);
    assert.match(form.html, /Ocultar sua conta/);
    const send = (body: string) =>
      get("/optout", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body,
      });
    const invalid = await text(await send("handle=not%20a%20handle&action=out"));
    assert.equal(invalid.status, 400);
    assert.match(invalid.html, /data-problem="invalid"/);
    assert.match(invalid.html, /value="not a handle"/, "the form keeps what was typed");
    const unknown = await text(await send("handle=nobody.test&action=out"));
    assert.equal(unknown.status, 404);
    assert.match(unknown.html, /data-problem="unknown"/);
    assert.equal((await send("handle=" + "a".repeat(5000))).status, 413);

    const asked = await send("handle=%40alice.test&action=out");
    assert.equal(asked.status, 303, "a redirect, so that a reload asks nothing twice");
    const location = asked.headers.get("location")!;
    const code = location.match(/^\/optout\?code=([A-Z2-9]{8})$/)![1];
    const waiting = await text(await get(location));
    assert.equal(waiting.status, 200);
    assert.match(waiting.html, new RegExp(`<code class="phrase">circles-out-${code}</code>`));
    assert.match(waiting.html, /data-state="waiting"/);
    assert.match(waiting.html, /@alice\.test/);

    // Alice posts it; the code's page says so, and her circles are gone.
    const applier = new Applier(redis, { retentionDays: 30, memoryHours: 48 });
    await applier.apply([{
      v: 1,
      kind: "commit",
      seq: 1_000,
      time: Date.now(),
      did: ALICE,
      action: "create",
      collection: "app.bsky.feed.post",
      rkey: "3optout",
      chars: 20,
      opt: `out:${code}`,
    }]);
    const done = await text(await get(location));
    assert.match(done.html, /data-state="done"/);
    assert.match(done.html, /the account is hidden/);
    const gone = await text(await get("/c/alice.test"));
    assert.equal(gone.status, 410);

    const expired = await text(await get("/optout?code=ZZZZZZZZ"));
    assert.equal(expired.status, 404);
    assert.match(expired.html, /data-problem="expired"/);
    assert.equal((await get("/optout?code=<script>")).status, 404);
  });
});

Deno.test("images come through the site: the API's PNG and avatars, kept while they may be cached", async () => {
  await withStack(async ({ get, apiCalls, site }) => {
    const png = await get("/img/alice.test.png?rings=2");
    assert.equal(png.status, 200);
    assert.equal(png.headers.get("content-type"), "image/png");
    const image = decode(new Uint8Array(await png.arrayBuffer()));
    assert.equal(image.width, 1200, "the site asks for the large PNG unless 600 is asked");
    const small = decode(
      new Uint8Array(await (await get("/img/alice.test.png?width=600")).arrayBuffer()),
    );
    assert.equal(small.width, 600);
    const pngCalls = apiCalls.filter((c) => c.includes(".png?"));
    assert.ok(
      pngCalls.length === 2 && pngCalls.every((c) => c.includes("&credit=site.test")),
      "a PNG carries the site's address",
    );
    const svg = await get("/img/alice.test.svg?bg=ffffff");
    assert.equal(svg.headers.get("content-type"), "image/svg+xml");
    assert.match(await svg.text(), /fill="#ffffff"/);
    const avatar = await get(`/avatar/${BOB}`);
    assert.equal(avatar.status, 200);
    assert.equal(avatar.headers.get("content-type"), "image/png");
    const etag = avatar.headers.get("etag")!;
    const bytes = new Uint8Array(await avatar.arrayBuffer());
    assert.deepEqual(decode(bytes).data, decode(RED_PNG).data);
    const again = await get(`/avatar/${BOB}`, { headers: { "if-none-match": etag } });
    assert.equal(again.status, 304);
    // Later visitors get the avatar from the site's memory: the API was asked once.
    const third = await get(`/avatar/${BOB}`);
    assert.deepEqual(new Uint8Array(await third.arrayBuffer()), bytes);
    assert.equal(third.headers.get("etag"), etag);
    assert.equal(apiCalls.filter((p) => p.startsWith("/v1/avatar/")).length, 1);
    assert.ok(site.api.imagesKept.count >= 1);
    assert.equal((await get("/avatar/not-a-did")).status, 400);
    // No avatar to give (Alice has none): a transparent image, never a broken one.
    const none = await get(`/avatar/${ALICE}`);
    assert.equal(none.status, 200);
    assert.equal(none.headers.get("content-type"), "image/svg+xml");
    assert.equal(none.headers.get("x-avatar"), "placeholder");
    assert.equal(none.headers.get("cache-control"), "public, max-age=300");
    assert.match(await none.text(), /^<svg [^>]*\/>$/);
  });
});

Deno.test("kept images stay within their byte budget, paths and headers counted, the least recently used going first", async () => {
  await withStack(async ({ apiFetch, apiCalls }) => {
    const req = new Request("http://site.test/");
    const probe = new ApiClient({ baseUrl: "http://api.test", cacheSeconds: 0, fetch: apiFetch });
    const avatar = (await (await probe.image(`/v1/avatar/${BOB}`, req)).arrayBuffer()).byteLength;
    const avatarKept = probe.imagesKept.bytes;
    assert.ok(avatarKept > avatar, "the path and headers count too");
    const png = "/v1/circles/alice.test.png?width=600";
    const pngBytes = (await (await probe.image(png, req)).arrayBuffer()).byteLength;
    const bothKept = probe.imagesKept.bytes;
    assert.ok(pngBytes > avatar);
    const small = new ApiClient({
      baseUrl: "http://api.test",
      cacheSeconds: 0,
      fetch: apiFetch,
      maxImageBytes: bothKept - 1,
    });
    await (await small.image(`/v1/avatar/${BOB}`, req)).arrayBuffer();
    assert.deepEqual(small.imagesKept, { count: 1, bytes: avatarKept });
    await (await small.image(png, req)).arrayBuffer();
    assert.deepEqual(
      small.imagesKept,
      { count: 1, bytes: bothKept - avatarKept },
      "the avatar made room",
    );
    const before = apiCalls.length;
    await (await small.image(png, req)).arrayBuffer();
    assert.equal(apiCalls.length, before, "the PNG came from memory");
    await (await small.image(`/v1/avatar/${BOB}`, req)).arrayBuffer();
    assert.equal(apiCalls.length, before + 1, "the avatar was asked again");
  });
});

Deno.test("/top shows the latest list with when it was computed, and says when there is none", async () => {
  await withStack(async ({ get, redis }) => {
    const none = await text(await get("/top?metric=likes_received&window=7d"));
    assert.equal(none.status, 200);
    assert.match(none.html, /data-empty="top"/);
    const computedAt = Date.now() - 5 * 60_000;
    await writeLikesReceivedTop(
      redis,
      [{ did: BOB, count: 2 }, { did: ALICE, count: 1 }],
      computedAt,
    );
    const top = await text(await get("/top"));
    assert.deepEqual(
      [...top.html.matchAll(/<li data-did="([^"]+)">.*?data-count="(\d+)"/g)].map((
        m,
      ) => [m[1], Number(m[2])]),
      [[BOB, 2], [ALICE, 1]],
    );
    assert.match(top.html, new RegExp(`<time datetime="${new Date(computedAt).toISOString()}"`));
    assert.deepEqual(
      [...top.html.matchAll(/<span class="rank" aria-hidden="true">(\d+)<\/span>/g)].map((m) =>
        m[1]
      ),
      ["1", "2"],
      "each person's rank is printed",
    );
    assert.match(top.html, /\(5 min ago\)/);
    assert.match(
      top.html,
      /<a href="\/top\?metric=likes_received&amp;window=24h" aria-current="page">/,
    );
    assert.match(top.html, /<a href="\/top\?metric=blocked&amp;window=24h">/);
  });
});

Deno.test("/live shows the network's figures and its chart polls /api/live", async () => {
  await withStack(async ({ get }) => {
    const live = await text(await get("/live"));
    assert.equal(live.status, 200);
    assert.match(live.html, /data-island="LiveChart"/);
    assert.match(live.html, /data-figure="rate"/);
    const api = await get("/api/live");
    assert.equal(api.status, 200);
    const body = await api.json();
    assert.equal(typeof body.sampledEvents, "number");
    const found = await (await get("/api/search?q=@bo")).json();
    assert.deepEqual(found.items, [{
      did: BOB,
      handle: "bob.test",
      displayName: "Bob",
      avatar: `/avatar/${encodeURIComponent(BOB)}`,
    }]);
    assert.deepEqual(await (await get("/api/search?q=%3Cx%3E")).json(), { items: [] });
  });
});

Deno.test("islands are bundled with content hashes and cached for a year; the circles page stays under 25 KB of gzip JS", async () => {
  await withStack(async ({ get, site }) => {
    const html = await (await get("/c/alice.test")).text();
    const scripts = pageScripts(html);
    assert.ok(scripts.length >= 3, scripts.join());
    let gzip = 0;
    for (const url of scripts) {
      assert.match(url, /^\/_site\/[\w-]+-[0-9a-zA-Z]{8,}\.js$/);
      const res = await get(url);
      assert.equal(res.status, 200, url);
      assert.equal(res.headers.get("cache-control"), "public, max-age=31536000, immutable");
      const body = new Uint8Array(await res.arrayBuffer());
      gzip += gzipSync(body).length;
      // Every module a script imports is served, and preloaded with the page.
      const text = new TextDecoder().decode(body);
      for (const m of text.matchAll(/from\s*"([^"]+)"|import\s*\(?"([^"]+)"/g)) {
        const spec = m[1] ?? m[2];
        const target = new URL(spec, `http://site.test${url}`).pathname;
        assert.ok(scripts.includes(target), `${url} imports ${spec}, which the page preloads`);
        assert.equal((await get(target)).status, 200, target);
      }
    }
    assert.ok(gzip <= 25 * 1024, `${gzip} bytes of gzip JS`);
    const manifest = JSON.parse(
      html.match(/<script type="application\/json" id="islands">([^<]+)</)![1],
    );
    assert.deepEqual(Object.keys(manifest).sort(), ["CircleActions", "CircleOptions"]);
    assert.deepEqual(site.manifest.islands, [
      "CircleActions",
      "CircleOptions",
      "HandleSearch",
      "LiveChart",
      "OptOutCode",
    ]);
    const about = await (await get("/about")).text();
    assert.deepEqual(pageScripts(about), [], "a page without islands ships no JavaScript");
    assert.equal((await get("/_site/nothing-123456789.js")).status, 404);
  });
});

Deno.test("a site setting that does not parse is named", () => {
  assert.throws(
    () => loadSiteConfig((n) => ({ SITE_PORT: "web" })[n]),
    /SITE_PORT: "web" is not an integer/,
  );
  assert.throws(
    () => loadSiteConfig((n) => ({ FART_URL: "ftp://x" })[n]),
    /FART_URL: "ftp:\/\/x" is not a http or https URL/,
  );
  assert.throws(
    () => loadSiteConfig((n) => ({ SITE_PUBLIC_URL: "nope" })[n]),
    /SITE_PUBLIC_URL: "nope" is not a URL/,
  );
  assert.equal(loadSiteConfig(() => undefined).FART_URL, "http://127.0.0.1:8000");
});

Deno.test("a page path with malformed percent-encoding gets a 400 page, not a failure", async () => {
  await withStack(async ({ get, apiCalls }) => {
    for (const path of ["/c/%zz", "/avatar/%zz", "/img/%zz.png", "/img/a%E0%A4%A.svg"]) {
      const res = await text(await get(path));
      assert.equal(res.status, 400, path);
      assert.match(res.html, /data-error="bad_request"/, path);
    }
    assert.deepEqual(apiCalls, [], "nothing reached the API");
  });
});

Deno.test("thousands of distinct long query strings keep the site's caches within their bounds and ask the API once per answer", async () => {
  await withStack(async ({ get, apiCalls, site }) => {
    for (let i = 0; i < 2000; i++) {
      // Empty pairs ("&&") change nothing: each address is distinct and the same page.
      const query = ["rings=2", "window=7d", "bg=ffffff"].join("&".repeat(1 + (i % 600)));
      const page = await get(`/c/alice.test?${query}`);
      assert.equal(page.status, 200);
      await page.body?.cancel();
      const png = await get(`/img/alice.test.png?${query}&width=600`);
      assert.equal(png.status, 200);
      await png.body?.cancel();
    }
    assert.deepEqual(apiCalls.map((p) => p.split("?")[0]).sort(), [
      "/v1/circles/alice.test",
      "/v1/circles/alice.test.png",
      "/v1/circles/alice.test/changes",
      "/v1/interactions/alice.test",
      "/v1/meta",
    ]);
    assert.deepEqual(site.api.answersKept.count, 4);
    assert.ok(site.api.answersKept.bytes < 64 * 1024);
    assert.equal(site.api.imagesKept.count, 1);
    const long = await get(`/c/alice.test?${"&".repeat(MAX_URL_CHARS)}`);
    assert.equal(long.status, 414);
    await long.body?.cancel();
    const garbage = await get(`/c/${"x".repeat(1500)}`);
    assert.equal(garbage.status, 400, "not a handle: refused before the API is asked");
    await garbage.body?.cancel();
    assert.equal(apiCalls.length, 5);
  });
});

Deno.test("a page that takes a query answers a parameter it does not know with a 400 page, and takes lang everywhere", async () => {
  await withStack(async ({ get, apiCalls }) => {
    for (
      const path of [
        "/c/alice.test?rings=2&x=1",
        "/img/alice.test.png?x=1",
        "/top?metric=likes_received&x=1",
        "/optout?x=1",
        "/search?q=alice.test&x=1",
        "/api/search?q=al&x=1",
      ]
    ) {
      const res = await text(await get(path));
      assert.equal(res.status, 400, path);
      assert.match(res.html, /data-error="bad_request"/, path);
    }
    assert.deepEqual(apiCalls, [], "nothing reached the API");
    const pt = await get("/c/alice.test?rings=2&lang=pt");
    assert.equal(pt.status, 200);
    await pt.body?.cancel();
    const form = await get(
      "/c/alice.test?rings=1&direction=sent&window=7d&bg=%23ffffff&border=%23000000&date=0&date=1",
    );
    assert.equal(form.status, 200, "what the options form sends");
    await form.body?.cancel();
  });
});

Deno.test("one visitor cannot use up the site's API key: past its allowance it gets 429 pages while others are served, and an unknown handle costs no API call twice", async () => {
  const env = { SITE_RATE_PER_IP: "10", SITE_TRUST_PROXY: "true" };
  await withStack(async ({ site, apiCalls }) => {
    const visit = (path: string, forwardedFor: string) =>
      site.fetch(
        new Request(`http://site.test${path}`, { headers: { "x-forwarded-for": forwardedFor } }),
        { remoteAddr: { hostname: "10.0.0.1" } },
      );
    // Unknown handles, each a new one, with a new made-up first X-Forwarded-For entry.
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) {
      const res = await visit(`/c/nobody${i}.test`, `198.18.0.${i}, 203.0.113.7`);
      statuses.push(res.status);
      if (res.status === 429) assert.ok(Number(res.headers.get("retry-after")) >= 1);
      await res.body?.cancel();
    }
    assert.deepEqual(statuses, [...Array(5).fill(404), ...Array(7).fill(429)]);
    assert.equal(apiCalls.length, 10, "two calls a page, five pages");
    const limited = await (await visit("/c/nobody11.test", "203.0.113.7")).text();
    assert.match(limited, /data-error="limited"/);
    // Another visitor is served, and the unknown handle it asks for again costs nothing.
    const other = await visit("/c/alice.test", "203.0.113.8");
    assert.equal(other.status, 200);
    await other.body?.cancel();
    const before = apiCalls.length;
    for (let i = 0; i < 5; i++) {
      const again = await visit("/c/nobody0.test?rings=2", "203.0.113.8");
      assert.equal(again.status, 404);
      await again.body?.cancel();
    }
    assert.equal(apiCalls.length, before, "known to be unknown: no call to the API");
  }, { siteEnv: env });
});

Deno.test("POST /optout takes forms only from the site's own pages: another origin or a cross-site fetch gets 403 and asks the API nothing", async () => {
  const form = "handle=alice.test&action=out";
  const post = (site: Site, headers: Record<string, string>) =>
    site.fetch(
      new Request("http://site.test/optout", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
        body: form,
      }),
    );
  await withStack(async ({ site, apiCalls }) => {
    const foreign: Record<string, string>[] = [
      { origin: "https://evil.example" },
      { origin: "null" },
      { "sec-fetch-site": "cross-site" },
      { origin: "http://site.test", "sec-fetch-site": "same-site" },
    ];
    for (const headers of foreign) {
      const res = await post(site, headers);
      assert.equal(res.status, 403, JSON.stringify(headers));
      await res.body?.cancel();
    }
    assert.deepEqual(apiCalls, []);
    const own = await post(site, { origin: "http://site.test", "sec-fetch-site": "same-origin" });
    assert.equal(own.status, 303);
    assert.equal(apiCalls.length, 1);
  });
  await withStack(async ({ site }) => {
    const proxied = await post(site, { origin: "http://site.test" });
    assert.equal(proxied.status, 403, "behind a proxy the public origin is the site's own");
    await proxied.body?.cancel();
    const res = await post(site, { origin: "https://circles.example" });
    assert.equal(res.status, 303);
  }, { siteEnv: { SITE_PUBLIC_URL: "https://circles.example" } });
});

Deno.test("search and the top lists refuse what cannot be asked: control characters, unknown metrics, windows and languages, naming them", async () => {
  await withStack(async ({ get, apiCalls }) => {
    for (
      const [path, field] of [
        ["/search?q=%00%01ma", "q"],
        ["/top?metric=nope", "metric"],
        ["/top?window=1y", "window"],
        ["/top?metric=posts&language=%3Cscript%3E", "language"],
      ]
    ) {
      const res = await text(await get(path));
      assert.equal(res.status, 400, path);
      assert.match(res.html, new RegExp(`<p>Not valid: ${field}\\.</p>`), path);
      assert.doesNotMatch(res.html, /<script>/, path);
    }
    const typeahead = await get("/api/search?q=%00");
    assert.equal(typeahead.status, 400);
    assert.match(await typeahead.text(), /control character/);
    assert.deepEqual(
      apiCalls.filter((c) => !c.startsWith("/v1/meta")),
      [],
      "nothing asked of the API",
    );
    // What the pages link to still answers.
    assert.equal((await text(await get("/top?metric=posts&window=72h&language=pt"))).status, 200);
  });
});
