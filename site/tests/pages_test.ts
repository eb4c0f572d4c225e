/**
 * Every page in Chromium at a desktop's size (1280×800) and a phone's (390×844), over the
 * real stack (a local PDS and PLC, the real firehose and indexer, the API and the site as
 * their own processes), with the site's Content-Security-Policy on:
 *
 * - axe-core finds no violation on any page, and each page's screenshot is kept in
 *   site/tests/artifacts/ (git ignores it);
 * - sharing a circles page: a "Post on Bluesky" link with the page's address and the inner
 *   ring's handles, the share sheet with the PNG (or the link where files cannot be shared),
 *   Copy link; only the plain link without JavaScript;
 * - placeholders with initials that tell people apart, also where an avatar fails;
 * - the date printed only in the picture and only when asked for; rank numbers on /top;
 *   links that look like links and show focus;
 * - the opt-out code's page: Copy, a "post this" link, and a page that sees the post by
 *   itself, then stops asking.
 *
 * axe's source is run in the page through the DevTools protocol (page.evaluate), which the
 * page's CSP does not govern; an injected <script> tag would be refused by it
 * (script-src 'self'), as the test checks. The CSP itself stays on.
 */
import assert from "node:assert/strict";
import { connectRedis } from "@bsky/shared/redis";
import { runWorkload } from "@bsky/shared/testing/workload";
import { settled } from "@bsky/shared/testing/settled";
import { PdsClient } from "@bsky/shared/testing/pds_client";
import { graphemes, POST_GRAPHEMES } from "../components/share.ts";
import { placeholderClass, placeholderColourOfHue } from "../components/profile.ts";
import {
  axeViolations,
  type Dom,
  hydrated,
  screenshotAt,
  SIZES,
  startChainBrowserStack,
} from "../testing/browser.ts";
import { writeLikesReceivedTop } from "../testing/top_list.ts";

const DATE = /\d{4}-\d\d-\d\d/;

/** Stubs the share sheet: what pages share is kept in `__shares`; files only when allowed. */
const SHARE_STUB = `
  globalThis.__shares = [];
  globalThis.__canShareFiles = true;
  Object.defineProperty(navigator, "share", { configurable: true, value: async (data) => {
    globalThis.__shares.push({
      title: data.title, text: data.text, url: data.url,
      files: (data.files || []).map((f) => ({ name: f.name, type: f.type, size: f.size })),
    });
  } });
  Object.defineProperty(navigator, "canShare", { configurable: true,
    value: (data) => !(data && data.files) || globalThis.__canShareFiles === true });
`;

Deno.test("every page passes axe at both sizes; sharing, placeholders, ranks, links and the opt-out page work, in Chromium over the real stack", async (t) => {
  await using stack = await startChainBrowserStack();
  const { pds, redisServer, origin, apiUrl, browser } = stack;
  const { accounts } = await runWorkload(pds.pdsUrl, pds.adminPassword);
  const { alice, bob, carol, dave } = accounts;
  await bob.putProfile({ displayName: "Robert", avatar: true });
  // Two people without avatars whose names start alike: their placeholders must differ.
  const client = new PdsClient(pds.pdsUrl, { adminPassword: pds.adminPassword });
  const maya = await client.createAccount("maya-costa");
  const mira = await client.createAccount("maya-silva");
  await maya.putProfile({ displayName: "Maya Costa" });
  await mira.putProfile({ displayName: "Mira Silva" });
  for (const who of [maya, mira]) {
    await alice.like(await who.post({ text: `hi from ${who.handle}` }));
  }
  await settled(async () => {
    const body = await fetch(`${apiUrl}/v1/interactions/${alice.did}?window=30d&limit=100`)
      .then((r) => r.json());
    const dids = body.items.map((i: { did: string }) => i.did);
    assert.ok(dids.includes(maya.did) && dids.includes(mira.did) && dids.includes(bob.did));
    const profile = body.items.find((i: { did: string }) => i.did === mira.did);
    assert.equal(profile.displayName, "Mira Silva");
  });
  /** The handles of the inner ring of Alice's circles, as the API has them now. */
  const innerRing = async (): Promise<string[]> => {
    const circles = await fetch(`${apiUrl}/v1/circles/${alice.did}?rings=2`)
      .then((r) => r.json());
    return circles.rings[0].people.map((p: { handle: string }) => p.handle);
  };

  // A top list, as the scheduler writes it.
  const redis = await connectRedis(redisServer.url, { name: "pages-test" });
  await writeLikesReceivedTop(
    redis,
    [bob, alice, dave, maya].map((a, i) => ({ did: a.did, count: 9 - i })),
    Date.now(),
  );
  redis.disconnect();

  const circlesPath = `/c/${alice.handle}`;
  for (const size of SIZES) {
    const { width, height } = size;
    const context = await browser.newContext({ viewport: { width, height }, locale: "en-US" });
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin });
    const page = await context.newPage();

    await t.step(`${size.name}: axe finds nothing on any page, with the CSP on`, async () => {
      const pages: [string, string][] = [
        ["home", "/"],
        ["circles", circlesPath],
        ["circles_names", `${circlesPath}?names=1&rings=1`],
        ["top", "/top?metric=likes_received&window=24h"],
        ["live", "/live"],
        ["about", "/about"],
        ["optout", "/optout"],
        ["search", "/search?q=maya"],
        ["not_found", "/c/nobody.test"],
      ];
      for (const [name, path] of pages) {
        const res = await page.goto(`${origin}${path}`);
        assert.match(res!.headers()["content-security-policy"], /script-src 'self'/, path);
        await hydrated(page);
        assert.deepEqual(await axeViolations(page), [], `${path} at ${width}×${height}`);
        await screenshotAt(page, name, { width, height });
      }
      // axe does see what is wrong: an image without a text alternative.
      await page.evaluate(() => {
        const { document } = globalThis as Dom;
        const img = document.createElement("img");
        img.src = "/nothing.png";
        document.querySelector("main").append(img);
      });
      assert.deepEqual((await axeViolations(page)).map((v) => v.id), ["image-alt"]);
      // The CSP is on indeed: a script injected as a tag would not run.
      const injected = await page.addScriptTag({ content: "globalThis.__ran = true" })
        .then(() => page.evaluate(() => (globalThis as Dom).__ran === true), () => false);
      assert.equal(injected, false, "the CSP refuses inline scripts");
    });

    await t.step(
      `${size.name}: Post on Bluesky carries the page's address and the inner ring`,
      async () => {
        await page.goto(`${origin}${circlesPath}?rings=2&direction=both`);
        const share = await page.locator("#share-url").inputValue();
        assert.equal(share, `${origin}${circlesPath}?rings=2`);
        const href = (await page.locator("#compose-post").getAttribute("href"))!;
        assert.match(href, /^https:\/\/bsky\.app\/intent\/compose\?text=[^&#]+$/);
        const text = new URL(href).searchParams.get("text")!;
        assert.ok(text.includes(share), text);
        const inner = await innerRing();
        assert.ok(inner.length >= 3, `${inner}`);
        for (const handle of inner) {
          assert.ok(text.includes(`@${handle}`), `${text}: ${handle}`);
        }
        assert.ok(graphemes(text) <= POST_GRAPHEMES);
        assert.equal(
          (await page.locator("#compose-post").textContent())!.trim(),
          "Post on Bluesky",
        );
        // It follows the options when they change in place.
        await hydrated(page);
        await page.locator('input[name="direction"][value="sent"]').check();
        await page.waitForURL(/direction=sent/);
        const after = (await page.locator("#compose-post").getAttribute("href"))!;
        assert.ok(
          new URL(after).searchParams.get("text")!.includes(
            `${circlesPath}?rings=2&direction=sent`,
          ),
        );

        // Copy link puts the share link on the clipboard.
        await page.getByRole("button", { name: "Copy link" }).click();
        await page.locator(".copy-actions .status", { hasText: "Copied" }).waitFor();
        assert.equal(
          await page.evaluate(() => (globalThis as Dom).navigator.clipboard.readText()),
          await page.locator("#share-url").inputValue(),
        );
        // Share is offered exactly where the browser has a share sheet.
        const sheet = await page.evaluate(() => typeof (globalThis as Dom).navigator.share);
        assert.equal(await page.locator("#share-sheet").isVisible(), sheet === "function");
      },
    );

    await t.step(
      `${size.name}: Share opens the sheet with the PNG, or the link without files`,
      async () => {
        const shareContext = await browser.newContext({ viewport: { width, height } });
        await shareContext.addInitScript(SHARE_STUB);
        const sharePage = await shareContext.newPage();
        await sharePage.goto(`${origin}${circlesPath}?rings=1`);
        await hydrated(sharePage);
        const url = await sharePage.locator("#share-url").inputValue();
        await sharePage.locator("#share-sheet").click();
        await sharePage.locator(".copy-actions .status", { hasText: "Shared" }).waitFor();
        const [withFile] = await sharePage.evaluate(() => (globalThis as Dom).__shares);
        assert.deepEqual(withFile.files.map((f: Dom) => [f.name, f.type]), [
          [`circles-${alice.handle}.png`, "image/png"],
        ]);
        assert.ok(withFile.files[0].size > 10_000, `a PNG of ${withFile.files[0].size} bytes`);
        assert.equal(withFile.text, url);
        // Where files cannot be shared, the sheet gets the link.
        await sharePage.evaluate(() => (globalThis as Dom).__canShareFiles = false);
        await sharePage.locator("#share-sheet").click();
        await sharePage.waitForFunction(() => (globalThis as Dom).__shares.length === 2);
        const [, linkOnly] = await sharePage.evaluate(() => (globalThis as Dom).__shares);
        assert.equal(linkOnly.url, url);
        assert.deepEqual(linkOnly.files, []);
        await shareContext.close();
      },
    );

    await t.step(`${size.name}: without JavaScript only what works is shown`, async () => {
      const plain = await browser.newContext({
        viewport: { width, height },
        javaScriptEnabled: false,
      });
      const noJs = await plain.newPage();
      await noJs.goto(`${origin}${circlesPath}`);
      assert.ok(
        await noJs.locator("#compose-post").isVisible(),
        "the compose link is a plain link",
      );
      assert.ok(await noJs.locator("#download-png").isVisible());
      assert.equal(await noJs.locator(".copy-actions button:visible").count(), 0);
      assert.equal(await noJs.locator("#share-sheet:visible").count(), 0);
      await screenshotAt(noJs, "circles_no_js", { width, height });
      await plain.close();
    });

    await t.step(
      `${size.name}: placeholders tell people apart, also where an avatar fails`,
      async () => {
        // One avatar the site could not have (a transparent stand-in), one that fails outright.
        await page.route(
          new RegExp(`/avatar/${encodeURIComponent(bob.did)}$`),
          (route) =>
            size.name === "desktop"
              ? route.fulfill({
                contentType: "image/svg+xml",
                body: '<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>',
              })
              : route.abort(),
        );
        await page.goto(`${origin}${circlesPath}`);
        const placeholder = (did: string) =>
          page.locator(`#people tr[data-did="${did}"] .avatar`).evaluate((el: Dom) => ({
            classes: el.className.split(" "),
            initials: el.textContent,
            colour: (globalThis as Dom).getComputedStyle(el).backgroundColor,
            box: [el.getBoundingClientRect().width, el.getBoundingClientRect().height],
          }));
        const a = await placeholder(maya.did), b = await placeholder(mira.did);
        assert.deepEqual([a.initials, b.initials], ["MC", "MS"]);
        assert.deepEqual(a.box, [28, 28]);
        // Each disc has the colour of its DID.
        for (const [p, did] of [[a, maya.did], [b, mira.did]] as const) {
          const cls = placeholderClass(did);
          assert.ok(p.classes.includes(cls), `${p.classes} has ${cls}`);
          const hex = placeholderColourOfHue(Number(cls.slice(3)) * 15);
          const rgb = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)).join(", ");
          assert.equal(p.colour, `rgb(${rgb})`);
        }
        // Bob's picture is missing: his placeholder shows where it would be, not a gap.
        const row = page.locator(`#people tr[data-did="${bob.did}"]`);
        await row.locator("img").scrollIntoViewIfNeeded();
        await settled(async () =>
          assert.ok(await row.locator("img").evaluate((img: Dom) => img.complete))
        );
        const look = await row.evaluate((tr: Dom) => {
          const ph = tr.querySelector(".avatar").getBoundingClientRect();
          const img = tr.querySelector("img").getBoundingClientRect();
          const bg = (globalThis as Dom).getComputedStyle(tr.querySelector("img")).backgroundColor;
          return {
            same: ph.x === img.x && ph.y === img.y && ph.width === img.width,
            w: ph.width,
            bg,
          };
        });
        assert.deepEqual(look, { same: true, w: 28, bg: "rgba(0, 0, 0, 0)" });
        await page.unroute(new RegExp(`/avatar/${encodeURIComponent(bob.did)}$`));
      },
    );

    await t.step(
      `${size.name}: the date is printed in the picture only, and only when asked`,
      async () => {
        await page.goto(`${origin}${circlesPath}`);
        const picture = await page.locator(".picture").textContent();
        assert.equal(picture!.match(new RegExp(DATE, "g"))?.length, 2, "from and to, once");
        assert.match((await page.locator("svg.circles").textContent())!, DATE);
        await page.goto(`${origin}${circlesPath}?date=0`);
        assert.doesNotMatch((await page.locator("main").textContent())!, DATE);
      },
    );

    await t.step(
      `${size.name}: /top numbers its ranks, and its links look like links`,
      async () => {
        await page.goto(`${origin}/top?metric=likes_received&window=24h`);
        assert.deepEqual(await page.locator(".toplist .rank").allTextContents(), [
          "1",
          "2",
          "3",
          "4",
        ]);
        const link = page.locator(".toplist li:first-child a");
        const look = await link.evaluate((a: Dom) => {
          const css = (globalThis as Dom).getComputedStyle(a.querySelector(".handle"));
          return { underline: css.textDecorationLine, colour: css.color };
        });
        assert.equal(look.underline, "underline");
        assert.equal(look.colour, "rgb(5, 80, 174)", "the accent colour");
        // Focus shows: a ring drawn around the link, when reached by keyboard.
        await page.keyboard.press("Tab");
        await link.focus();
        const ring = await link.evaluate((a: Dom) => {
          const css = (globalThis as Dom).getComputedStyle(a);
          return [css.outlineStyle, css.outlineWidth];
        });
        assert.deepEqual(ring, ["solid", "3px"]);
        // The avatar that is there fills its place; the others show their initials.
        assert.equal(await page.locator(".toplist .avatar").count(), 4);
        assert.deepEqual(
          await page.locator(`.toplist li[data-did="${maya.did}"] .avatar`).textContent(),
          "MC",
        );
      },
    );

    await t.step(
      `${size.name}: the opt-out code page has Copy and a post link, and sees the post by itself`,
      async () => {
        // Carol hides her account from the desktop, and shows it again from the phone.
        const action = size.name === "desktop" ? "out" : "in";
        const polls: string[] = [];
        page.on("request", (req) => {
          if (req.url().startsWith(`${origin}/api/optout`)) {
            polls.push(req.url());
          }
        });
        await page.goto(`${origin}/optout`);
        await page.getByLabel("Your handle").fill(carol.handle);
        await page.locator(`input[name="action"][value="${action}"]`).check();
        await Promise.all([
          page.waitForURL(/\/optout\?code=/),
          page.getByRole("button", { name: "Get a code" }).click(),
        ]);
        await hydrated(page);
        const phrase = (await page.locator("code.phrase").textContent())!;
        assert.match(phrase, new RegExp(`^circles-${action}-[A-HJ-NP-Z2-9]{8}$`));
        assert.deepEqual(await axeViolations(page), []);
        await screenshotAt(page, "optout_code", { width, height });
        // Copy takes the phrase; the link opens Bluesky's composer with it.
        await page.getByRole("button", { name: "Copy the code" }).click();
        await page.locator(".phrase-row .status", { hasText: "Copied" }).waitFor();
        assert.equal(
          await page.evaluate(() => (globalThis as Dom).navigator.clipboard.readText()),
          phrase,
        );
        const compose = (await page.locator("#opt-compose").getAttribute("href"))!;
        assert.equal(
          new URL(compose).origin + new URL(compose).pathname,
          "https://bsky.app/intent/compose",
        );
        assert.equal(new URL(compose).searchParams.get("text"), phrase);
        // Without JavaScript: no Copy button, the same link, and a link to check again.
        const plain = await browser.newContext({
          viewport: { width, height },
          javaScriptEnabled: false,
        });
        const noJs = await plain.newPage();
        await noJs.goto(page.url());
        assert.equal(await noJs.locator(".phrase-row button:visible").count(), 0);
        assert.equal(await noJs.locator("#opt-compose").getAttribute("href"), compose);
        assert.ok(
          await noJs.getByRole("link", { name: "Check whether it was seen" }).isVisible(),
        );
        await plain.close();

        // Carol posts it; the page, never reloaded, says so within a few polls.
        await settled(
          () => Promise.resolve(assert.ok(polls.length >= 1, "the page asks by itself")),
          15_000,
          200,
        );
        await carol.post({ text: `Here is my code: ${phrase}` });
        await page.locator('.opt-code[data-state="done"]').waitFor({ timeout: 45_000 });
        assert.equal(
          await page.locator(".opt-state").textContent(),
          action === "out"
            ? "Done: the account is hidden from every circle, list and search. Pages already cached may take two minutes to follow."
            : "Done: the account is shown again.",
        );
        // ... and stops asking.
        const asked = polls.length;
        await new Promise((r) => setTimeout(r, 9_000));
        assert.equal(polls.length, asked, "no poll after done");
        const status = action === "out" ? 410 : 200;
        await settled(
          async () => {
            const res = await fetch(`${apiUrl}/v1/interactions/${carol.did}?window=30d`);
            await res.body?.cancel();
            assert.equal(res.status, status);
          },
          10_000,
          500,
        );
        page.removeAllListeners("request");
      },
    );
    await context.close();
  }
});
