/**
 * The pages of posts by language in Chromium at a desktop's size (1280×800) and a phone's
 * (390×844), over the real stack (a local PDS and PLC, the real firehose and indexer, the
 * API and the site as their own processes, the scheduler's job run against its Redis), with
 * the site's Content-Security-Policy on, as pages_test.ts does: axe-core finds no
 * violation, nothing runs wider than the screen, /top's posters of a language equal the
 * workload's ground truth, and /live shows the minute's posts by language and keeps them
 * up to date as it polls. Screenshots land in site/tests/artifacts/.
 */
import assert from "node:assert/strict";
import { runWorkload } from "@bsky/shared/testing/workload";
import { connectRedis } from "@bsky/shared/redis";
import { computeTruth } from "@bsky/store/testing/truth";
import { computeLanguageLists } from "../../scheduler/jobs/language_lists.ts";
import { settled } from "@bsky/shared/testing/settled";
import {
  axeViolations,
  type Dom,
  hydrated,
  overflows,
  screenshotAt,
  SIZES,
  startChainBrowserStack,
} from "../testing/browser.ts";

Deno.test("the pages of posts by language pass axe at both sizes, fit the screen and show the workload's languages, in Chromium over the real stack", async (t) => {
  await using stack = await startChainBrowserStack();
  const { pds, redisServer, origin, apiUrl, browser } = stack;
  const redis = await connectRedis(redisServer.url, { name: "languages-test" });
  try {
    const { truth: events, accounts } = await runWorkload(pds.pdsUrl, pds.adminPassword);
    const { alice, bob } = accounts;
    const truth = computeTruth(events);
    // Portuguese: Alice twice. What /top must list, most posts first.
    const portuguese = [...truth.languages.get("pt")!].sort((a, b) => b[1] - a[1]);
    assert.deepEqual(portuguese, [[alice.did, 2]]);
    await settled(async () => {
      await computeLanguageLists(redis, { size: 10, now: Date.now() });
      const body = await fetch(`${apiUrl}/v1/stats/top?metric=posts&lang=pt`).then((r) => r.json());
      assert.deepEqual(
        body.items.map((i: { did: string; count: number }) => [i.did, i.count]),
        portuguese,
      );
      // Every language counted, as the accounts stand at the end (Carol active again).
      assert.deepEqual(
        body.languages.map((l: { lang: string }) => l.lang).sort(),
        [...truth.languages.keys()].filter((l) => !["es", "ca"].includes(l)).sort(),
      );
    }, 30_000);

    /** Posts now, so that the live minute has them: three in English, one also in Japanese. */
    const postNow = async () => {
      for (const langs of [["en-GB"], ["en"], ["ja", "en"]]) await bob.post({ text: "now", langs });
    };

    for (const size of SIZES) {
      const { width, height } = size;
      const context = await browser.newContext({ viewport: { width, height }, locale: "en-US" });
      const page = await context.newPage();

      await t.step(`${size.name}: axe finds nothing and nothing overflows`, async () => {
        await postNow();
        await settled(async () => {
          const live = await fetch(`${apiUrl}/v1/stats/live`).then((r) => r.json());
          assert.ok(live.postLanguages.some((l: { lang: string }) => l.lang === "ja"));
        }, 15_000);
        const pages: [string, string][] = [
          ["live_languages", "/live"],
          ["top_posts_pt", "/top?metric=posts&language=pt"],
          ["top_posts_en_72h", "/top?metric=posts&language=en&window=72h"],
          ["top_posts_none", "/top?metric=posts&language=kab"],
          ["top_posts_pt_ui", "/top?metric=posts&language=pt&lang=pt"],
        ];
        for (const [name, path] of pages) {
          const res = await page.goto(`${origin}${path}`);
          assert.equal(res!.status(), 200, path);
          assert.match(res!.headers()["content-security-policy"], /script-src 'self'/, path);
          await hydrated(page);
          assert.deepEqual(await axeViolations(page), [], `${path} at ${width}×${height}`);
          assert.equal(await overflows(page), false, `${path} fits ${width}px`);
          await screenshotAt(page, name, { width, height });
        }
      });

      await t.step(
        `${size.name}: /top lists a language's posters; its tabs lead to the others`,
        async () => {
          await page.goto(`${origin}/top?metric=posts&language=pt&lang=en`);
          assert.equal(
            await page.locator("h2").first().textContent(),
            "Posts in Portuguese · 24 hours",
          );
          const rows = await page.locator(".toplist li").evaluateAll((li: Dom[]) =>
            li.map((l) => [l.dataset.did, Number(l.querySelector(".count").dataset.count)])
          );
          assert.deepEqual(rows, portuguese);
          assert.equal(
            await page.locator(".toplist li .handle").first().textContent(),
            `@${alice.handle}`,
          );
          // Every language that has a list is offered by name; English has Bob first.
          const offered = await page.locator(".languages a").evaluateAll((a: Dom[]) =>
            a.map((x) => x.dataset.lang)
          );
          assert.deepEqual(
            [...offered].sort(),
            [...truth.languages.keys()].filter((l) => !["es", "ca"].includes(l)).sort(),
          );
          await page.locator('.languages a[data-lang="en"]').click();
          await page.waitForURL(/language=en/);
          assert.equal(
            await page.locator("h2").first().textContent(),
            "Posts in English · 24 hours",
          );
          assert.equal(
            await page.locator(".toplist li").first().getAttribute("data-did"),
            bob.did,
          );
          await page.getByRole("link", { name: "72 hours" }).click();
          await page.waitForURL(/window=72h/);
          assert.match(page.url(), /language=en/);
        },
      );

      await t.step(
        `${size.name}: /live shows the minute's posts by language and follows them`,
        async () => {
          await page.goto(`${origin}/live?lang=en`);
          const shares = async () =>
            await page.locator(".bars.languages li").evaluateAll((li: Dom[]) =>
              li.map((l) => [l.dataset.lang, Number(l.querySelector("[data-share]").dataset.share)])
            );
          const first = await shares();
          assert.ok(first.length > 0 && first.length <= 12, JSON.stringify(first));
          assert.equal(first[0][0], "en", "English has the most posts this minute");
          for (let i = 1; i < first.length; i++) assert.ok(first[i - 1][1] >= first[i][1]);
          assert.equal(
            await page.locator('.bars.languages li[data-lang="ja"] .bar-label').textContent(),
            "Japanese",
          );
          // A post in another language appears without a reload, from the page's polling.
          const fresh = size.name === "desktop" ? "fi" : "sv";
          const row = page.locator(`.bars.languages li[data-lang="${fresh}"]`);
          assert.equal(await row.count(), 0);
          await alice.post({ text: "moi", langs: [fresh] });
          await row.waitFor({ timeout: 20_000 });
          assert.equal(
            await row.locator(".bar-label").textContent(),
            fresh === "fi" ? "Finnish" : "Swedish",
          );
        },
      );
      await context.close();
    }
  } finally {
    redis.disconnect();
  }
});
