/**
 * The circles page's week and month picker, exclusions and "what changed" in Chromium at a
 * desktop's size (1280×800) and a phone's (390×844), with and without JavaScript, over the
 * API and the site as their own processes (their scoped permissions, the site's CSP on) and
 * a real redis-server holding weeks of interactions the real applier wrote. axe-core finds
 * nothing in any state; screenshots go to site/tests/artifacts/ (git ignores it).
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import type { FirehoseEvent } from "@bsky/shared/events";
import { connectRedis } from "@bsky/shared/redis";
import { nextSeq } from "@bsky/shared/testing/events";
import { startRedisServer } from "@bsky/shared/testing/redis_server";
import { Applier } from "@bsky/store/apply";
import {
  axeViolations,
  type Dom,
  hydrated,
  screenshotAt,
  SIZES,
  startBrowserStack,
} from "../testing/browser.ts";
import { BOT, pastWeeks } from "../testing/past_weeks.ts";
import { ALICE, BOB, CAROL, EVE } from "../testing/stack.ts";

const { last: LAST, before: BEFORE, events: PAST_WEEKS } = pastWeeks(Date.now());

/** Everyone's handle, and the two past weeks (site/testing/past_weeks.ts). */
const EVENTS: FirehoseEvent[] = [
  ...[[ALICE, "alice"], [BOB, "bob"], [CAROL, "carol"], [EVE, "eve"], [BOT, "bot"]].map((
    [did, name],
  ) =>
    ({
      v: 1,
      kind: "identity",
      seq: nextSeq(),
      time: BEFORE.start,
      did,
      handle: `${name}.test`,
    }) as FirehoseEvent
  ),
  ...PAST_WEEKS,
];

/** The people table's handles, in order. */
const tableHandles = (page: Page) =>
  page.locator("#people tr[data-handle]").evaluateAll((rows: Dom[]) =>
    rows.map((r) => r.getAttribute("data-handle"))
  );
/** The handles of one list of the changes (joined, left, moved). */
const changed = (page: Page, id: string) =>
  page.locator(`.changes [data-change="${id}"] .handle`).allTextContents();

/** What sticks out past the screen's right edge (a phone would scroll sideways): none. */
const widerThanScreen = (page: Page): Promise<string[]> =>
  page.evaluate(() => {
    const { document, innerWidth } = globalThis as Dom;
    if (document.documentElement.scrollWidth <= innerWidth) return [];
    return [...document.querySelectorAll("body *")]
      .filter((el: Dom) => el.getBoundingClientRect().right > innerWidth + 0.5)
      .map((el: Dom) =>
        `${el.tagName.toLowerCase()}.${el.className} ${el.getBoundingClientRect().right}`
      )
      .slice(0, 8);
  });

Deno.test("the week picker, exclusions and what changed work in Chromium at both sizes, with and without JavaScript, and axe finds nothing", async (t) => {
  await using redisServer = await startRedisServer();
  const redis = await connectRedis(redisServer.url, { name: "circles-options-test" });
  await new Applier(redis, { retentionDays: 30, memoryHours: 48 }).apply(EVENTS);
  redis.disconnect();
  const stack = await startBrowserStack({ redisUrl: redisServer.url });
  const { origin, browser } = stack;
  const week = Number(LAST.name.slice(-2));
  try {
    for (const size of SIZES) {
      const { width, height } = size;
      const shot = (page: Page, name: string) => screenshotAt(page, name, size);

      await t.step(
        `${size.name}: a week chosen in the picker shows its circles and what changed, in place`,
        async () => {
          const context = await browser.newContext({
            viewport: { width, height },
            locale: "en-US",
          });
          const page = await context.newPage();
          await page.goto(`${origin}/c/alice.test`);
          await hydrated(page);
          // 30 days back has no 30 days before it that are kept.
          assert.match(
            await page.locator(".changes").textContent() ?? "",
            /nothing to compare with/,
          );
          assert.deepEqual(await axeViolations(page), []);
          const choices = await page.locator('select[name="period"] option').allTextContents();
          assert.ok(choices.some((c) => c.startsWith(`Week ${week}: `)), `${choices}`);
          await page.locator('select[name="period"]').selectOption(LAST.name);
          await page.waitForURL(new RegExp(`period=week%3A\\d{4}-W${LAST.name.slice(-2)}`));
          await page.locator("#circles-status", { hasText: `Week ${week}` }).waitFor();
          assert.deepEqual(await tableHandles(page), ["bot.test", "carol.test", "eve.test"]);
          assert.equal(
            await page.locator("#changes-title").textContent(),
            "What changed since the previous week",
          );
          assert.deepEqual(await changed(page, "joined"), ["@bot.test", "@carol.test"]);
          assert.deepEqual(await changed(page, "left"), ["@bob.test"]);
          assert.match(
            await page.locator(".changes .stayed").textContent() ?? "",
            /^1 person stayed/,
          );
          assert.deepEqual(await widerThanScreen(page), [], "no sideways scrolling");
          assert.deepEqual(await axeViolations(page), []);
          await shot(page, "circles_week");

          // Leave out Carol (typed, then Enter), then the bots, then keep mutual follows only.
          await page.locator('input[name="exclude"]').fill("@Carol.test");
          await page.locator('input[name="exclude"]').press("Enter");
          await page.waitForURL(/exclude=carol.test/);
          await page.locator("#people-count", { hasText: "2" }).waitFor();
          assert.deepEqual(await tableHandles(page), ["bot.test", "eve.test"]);
          await page.locator('input[name="bots"]').check();
          await page.waitForURL(/bots=hide/);
          await page.locator("#people-count", { hasText: "1" }).waitFor();
          assert.deepEqual(await tableHandles(page), ["eve.test"]);
          assert.equal(await page.locator(`svg.circles g[data-did="${BOT}"]`).count(), 0);
          assert.deepEqual(await changed(page, "joined"), []);
          assert.deepEqual(await changed(page, "left"), ["@bob.test"]);
          await page.locator('input[name="mutuals"][value="none"]').check();
          await page.waitForURL(/mutuals=none/);
          await page.locator(".people-details .empty").waitFor();
          assert.deepEqual(await tableHandles(page), []);
          assert.deepEqual(await axeViolations(page), []);
          await shot(page, "circles_left_out");
          // The share link keeps every choice.
          const share = await page.locator("#share-url").inputValue();
          for (
            const part of ["period=week%3A", "exclude=carol.test", "mutuals=none", "bots=hide"]
          ) {
            assert.ok(share.includes(part), `${share}: ${part}`);
          }
          // A window chosen again takes over from the week.
          await page.locator('input[name="mutuals"][value="all"]').check();
          await page.waitForURL((u) => !u.search.includes("mutuals"));
          await page.locator('input[name="window"][value="7d"]').check();
          await page.waitForURL((u) =>
            u.search.includes("window=7d") && !u.search.includes("period")
          );
          assert.equal(await page.locator('select[name="period"]').inputValue(), "");
          await page.locator("#changes-title", { hasText: "What changed since the 7 days before" })
            .waitFor();
          await context.close();
        },
      );

      await t.step(`${size.name}: without JavaScript the form does it all with Apply`, async () => {
        const context = await browser.newContext({
          viewport: { width, height },
          javaScriptEnabled: false,
          locale: "en-US",
        });
        const page = await context.newPage();
        await page.goto(`${origin}/c/alice.test`);
        await page.locator('select[name="period"]').selectOption(LAST.name);
        await page.locator('input[name="exclude"]').fill("carol.test");
        await page.locator('input[name="bots"]').check();
        await Promise.all([
          page.waitForURL(/period=/),
          page.getByRole("button", { name: "Apply" }).click(),
        ]);
        const url = new URL(page.url());
        assert.equal(url.searchParams.get("period"), LAST.name);
        assert.equal(url.searchParams.get("exclude"), "carol.test");
        assert.equal(url.searchParams.get("bots"), "hide");
        assert.deepEqual(await tableHandles(page), ["eve.test"]);
        assert.equal(await page.locator('select[name="period"]').inputValue(), LAST.name);
        assert.deepEqual(await changed(page, "left"), ["@bob.test"]);
        assert.deepEqual(await widerThanScreen(page), [], "no sideways scrolling");
        await shot(page, "circles_week_no_js");
        await context.close();
        // axe needs JavaScript to run: the same address, checked where it can.
        const checked = await browser.newContext({ viewport: { width, height }, locale: "en-US" });
        const withJs = await checked.newPage();
        await withJs.goto(url.href);
        await hydrated(withJs);
        assert.deepEqual(await axeViolations(withJs), []);
        await checked.close();
      });

      await t.step(`${size.name}: in Portuguese`, async () => {
        const context = await browser.newContext({ viewport: { width, height }, locale: "pt-BR" });
        const page = await context.newPage();
        await page.goto(`${origin}/c/alice.test?period=${LAST.name}&lang=pt`);
        await hydrated(page);
        assert.equal(
          await page.locator("#changes-title").textContent(),
          "O que mudou desde a semana anterior",
        );
        assert.match(
          await page.locator("#circles-status").textContent() ?? "",
          new RegExp(`Semana ${week}`),
        );
        assert.equal(await page.getByLabel("Uma semana ou um mês").inputValue(), LAST.name);
        assert.deepEqual(await axeViolations(page), []);
        await shot(page, "circles_week_pt");
        await context.close();
      });
    }
  } finally {
    await stack.close();
  }
});
