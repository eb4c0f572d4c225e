/**
 * The circles page's week and month picker, exclusions and "what changed" in Chromium at a
 * desktop's size (1280×800) and a phone's (390×844), with and without JavaScript, over the
 * API and the site as their own processes (their scoped permissions, the site's CSP on) and
 * a real redis-server holding weeks of interactions the real applier wrote. axe-core finds
 * nothing in any state; screenshots go to site/tests/artifacts/ (git ignores it).
 */
import assert from "node:assert/strict";
import axe from "axe-core";
import { chromium, type Page } from "playwright-core";
import type { FirehoseEvent } from "@bsky/shared/events";
import { connectRedis } from "@bsky/shared/redis";
import { created, nextSeq } from "@bsky/shared/testing/events";
import { freePort, startRedisServer } from "@bsky/shared/testing/redis_server";
import { Applier } from "@bsky/store/apply";
import { HOUR_MS } from "@bsky/store/layout";
import { periodAt, previousPeriod } from "@bsky/store/periods";
import { tidOf } from "@bsky/store/testing/generate";
import { spawnFart } from "../../fart/testing/spawn.ts";
import { spawnSite } from "../testing/spawn.ts";

const ARTIFACTS = new URL("./artifacts/", import.meta.url).pathname;
const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];
const SIZES = [
  { name: "desktop", width: 1280, height: 800 },
  { name: "phone", width: 390, height: 844 },
] as const;

// Callbacks run in the page; the tests are type-checked without the DOM's types.
// deno-lint-ignore no-explicit-any
type Dom = any;

const NOW = Date.now();
const LAST = previousPeriod(periodAt("week", NOW));
const BEFORE = previousPeriod(LAST);
const [ALICE, BOB, CAROL, EVE, BOT] = ["a", "b", "c", "e", "g"].map((c) =>
  `did:plc:${c.repeat(24)}`
);

let rk = 0;
const like = (did: string, subject: string, at: number) =>
  created(did, "app.bsky.feed.like", tidOf(rk++), { subject }, at);
const tuesday = (p: { start: number }) => p.start + 36 * HOUR_MS;

/**
 * The week before last, Alice likes Bob twice and Eve once; last week, Carol three times
 * and Eve once, and a bot likes Alice 1,100 times within one afternoon. Alice and Eve
 * follow each other.
 */
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
  like(ALICE, BOB, tuesday(BEFORE)),
  like(ALICE, BOB, tuesday(BEFORE) + 60_000),
  like(ALICE, EVE, tuesday(BEFORE) + 120_000),
  ...[0, 1, 2].map((k) => like(ALICE, CAROL, tuesday(LAST) + k * 60_000)),
  like(ALICE, EVE, tuesday(LAST) + 5 * 60_000),
  ...Array.from({ length: 1100 }, (_, k) => like(BOT, ALICE, tuesday(LAST) + k * 30_000)),
  created(ALICE, "app.bsky.graph.follow", "3kfollow22222", { subject: EVE }, tuesday(BEFORE)),
  created(EVE, "app.bsky.graph.follow", "3kfollow22223", { subject: ALICE }, tuesday(BEFORE)),
];

async function axeViolations(page: Page): Promise<string[]> {
  if (!await page.evaluate(() => "axe" in globalThis)) await page.evaluate(axe.source);
  return await page.evaluate(async () => {
    const result = await (globalThis as Dom).axe.run((globalThis as Dom).document, {
      resultTypes: ["violations"],
    });
    return result.violations.map((v: Dom) =>
      `${v.id}: ${v.nodes.map((n: Dom) => n.target.join(" ")).join(", ")}`
    );
  });
}

async function hydrated(page: Page) {
  await page.waitForFunction(() =>
    (globalThis as Dom).document.querySelectorAll("[data-island]:not([data-hydrated])").length ===
      0
  );
}

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
  await Deno.mkdir(ARTIFACTS, { recursive: true });
  await using redisServer = await startRedisServer();
  const redis = await connectRedis(redisServer.url, { name: "circles-options-test" });
  await new Applier(redis, { retentionDays: 30, memoryHours: 48 }).apply(EVENTS);
  redis.disconnect();
  const apiPort = freePort(), sitePort = freePort();
  const api = await spawnFart({
    REDIS_URL: redisServer.url,
    FART_PORT: String(apiPort),
    FART_CACHE_SECONDS: "1",
    FART_RATE_PER_IP: "100000",
    LOG_LEVEL: "error",
  });
  const site = await spawnSite({
    SITE_PORT: String(sitePort),
    FART_URL: `http://127.0.0.1:${apiPort}`,
    SITE_CACHE_SECONDS: "0",
    SITE_RATE_PER_IP: "100000",
    LOG_LEVEL: "error",
  });
  const origin = `http://127.0.0.1:${sitePort}`;
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: CHROMIUM_FLAGS,
  });
  const week = Number(LAST.name.slice(-2));
  try {
    for (const size of SIZES) {
      const { width, height } = size;
      const shot = (page: Page, name: string) =>
        page.screenshot({ path: `${ARTIFACTS}${name}_${width}x${height}.png`, fullPage: true });

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
    await browser.close();
    for (const child of [site, api]) {
      child.kill("SIGTERM");
      await child.status;
    }
  }
});
