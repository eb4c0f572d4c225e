/**
 * The site in a real browser (Debian's Chromium driven by playwright-core) over the real
 * stack: a local PDS and PLC drive the scripted workload through the real firehose and
 * indexer into Redis; the API and the site run as their own processes with their scoped
 * permissions. Screenshots go to site/tests/artifacts/.
 */
import assert from "node:assert/strict";
import { decode } from "fast-png";
import type { Page } from "playwright-core";
import { connectRedis } from "@bsky/shared/redis";
import { runWorkload } from "@bsky/shared/testing/workload";
import { settled } from "@bsky/shared/testing/settled";
import { computeTruth, expectedTop } from "@bsky/store/testing/truth";
import type { Direction } from "@bsky/store/queries";
import type { Counts } from "../components/circles.ts";
import { ARTIFACTS, type Dom, startChainBrowserStack } from "../testing/browser.ts";
import { writeLikesReceivedTop } from "../testing/top_list.ts";

type Row = Counts & { did: string };

/** The people table as the visitor sees it. */
function tableRows(page: Page): Promise<Row[]> {
  return page.$$eval("#people tbody tr", (trs: Dom[]) =>
    trs.map((tr) => {
      const row: Record<string, unknown> = { did: tr.dataset.did };
      for (const td of tr.querySelectorAll("td[data-col]")) {
        row[td.dataset.col!] = Number(td.textContent);
      }
      return row as Row;
    }));
}

/** How many rings the picture draws for this many people (rings of 8, 15 and 26). */
const ringsFor = (people: number) => [0, 8, 23, 49].findIndex((n) => people <= n);

/**
 * The angle between neighbours on the first ring, in degrees, one figure per neighbour:
 * all the same when the ring's people are spread evenly around all of it.
 */
function ringSteps(page: Page): Promise<number[]> {
  return page.$$eval("svg.circles > g[data-did] > circle[fill='none']", (discs: Dom[]) => {
    const at = discs.map((c) => [Number(c.getAttribute("cx")), Number(c.getAttribute("cy"))]);
    const [cx, cy] = at[0];
    const first = discs.map((c) => Number(c.getAttribute("r")));
    const ring = at.slice(1).filter((_, i) => first[i + 1] === first[1]);
    const angles = ring.map(([x, y]) => Math.atan2(y - cy, x - cx) * 180 / Math.PI);
    return angles.map((a, i) =>
      Math.round(((angles[(i + 1) % angles.length] - a + 720) % 360 || 360) * 10) / 10
    );
  });
}

function asTruth(rows: Row[]) {
  return new Map(rows.map(({ did, ...counts }) => [did, counts]));
}

/** Waits until an options change has been applied to the page. */
async function applied(page: Page, param: string) {
  await page.waitForFunction((p: string) => {
    const { location, document } = globalThis as Dom;
    return location.search.includes(p) &&
      document.getElementById("result")?.getAttribute("aria-busy") === "false";
  }, param);
}

Deno.test("a visitor searches a handle, tunes the circles, downloads the PNG, in Chromium over the real stack", async () => {
  await using stack = await startChainBrowserStack({ siteEnv: {} });
  const { pds, redisServer, origin, apiUrl, browser } = stack;
  const { truth: events, accounts } = await runWorkload(pds.pdsUrl, pds.adminPassword);
  await accounts.bob.putProfile({ displayName: "Robert", avatar: true });
  const truth = computeTruth(events);
  const alice = accounts.alice;
  const expected = (direction: Direction) => expectedTop(truth, alice.did, direction);
  assert.ok(expected("both").size >= 2, "Alice has people around her");
  // The indexer has caught up when the API's answer equals the ground truth.
  await settled(async () => {
    const res = await fetch(
      `${apiUrl}/v1/interactions/${alice.did}?window=30d&limit=100`,
    );
    const body = await res.json();
    const got = new Map(
      body.items.map((
        { did, like, repost, reply, quote, mention, score }: Row,
      ) => [did, { like, repost, reply, quote, mention, score }]),
    );
    assert.deepEqual(got, expected("both"));
  });

  // The live page on a phone: friendly names, and one chart point per new reading
  // (the API keeps its answer a few seconds, so some polls repeat one).
  const live = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const livePage = await live.newPage();
  const readings: string[] = [];
  livePage.on("response", async (res) => {
    if (res.url().endsWith("/api/live")) readings.push((await res.json()).now);
  });
  await livePage.goto(`${origin}/live`);
  const chart = livePage.locator('[data-island="LiveChart"][data-hydrated]');
  await chart.waitFor({ state: "attached" });
  const first = await chart.evaluate((el: Dom) => JSON.parse(el.dataset.props).initial.now);
  await settled(
    async () => {
      assert.ok(readings.length >= 4, "four polls");
      const fresh = [first, ...readings].filter((v, i, all) => i === 0 || v !== all[i - 1]);
      assert.ok(fresh.length < readings.length + 1, "some polls repeated a reading");
      assert.equal(
        Number(await livePage.locator(".chart svg").getAttribute("data-points")),
        fresh.length,
      );
    },
    15_000,
    250,
  );
  const labels = await livePage.locator(".bar-label").allTextContents();
  assert.ok(labels.includes("Likes") && labels.includes("Posts"), `${labels}`);
  assert.ok(labels.every((name) => !name.startsWith("app.bsky.")), `${labels}`);
  assert.match((await livePage.locator("[data-figure=lag]").textContent())!, /^[\d,.]+ (s|min)$/);
  const liveWidth = await livePage.evaluate(() =>
    (globalThis as Dom).document.documentElement.scrollWidth
  );
  assert.ok(liveWidth <= 390, `the live page is ${liveWidth} px wide on a 390 px screen`);
  await livePage.screenshot({ path: `${ARTIFACTS}live_phone.png`, fullPage: true });

  // /top on a phone: ranks, links that look like links, and where an avatar could not be
  // had (the site then sends a transparent image), the placeholder disc, not a gap.
  const redis = await connectRedis(redisServer.url, { name: "browser-test" });
  await writeLikesReceivedTop(
    redis,
    [accounts.bob, alice, accounts.dave].map((a, i) => ({ did: a.did, count: 9 - i })),
    Date.now(),
  );
  redis.disconnect();
  await livePage.route(/\/avatar\//, (route) =>
    route.fulfill({
      contentType: "image/svg+xml",
      body: '<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>',
    }));
  await livePage.goto(`${origin}/top?metric=likes_received&window=24h`);
  assert.deepEqual(await livePage.locator(".toplist .rank").allTextContents(), ["1", "2", "3"]);
  const look = await livePage.$eval(".toplist li:first-child", (li: Dom) => {
    const css = (el: Dom) => (globalThis as Dom).getComputedStyle(el);
    const img = li.querySelector("img");
    const placeholder = li.querySelector(".avatar");
    return {
      disc: css(placeholder).backgroundColor,
      initials: placeholder.textContent,
      width: placeholder.getBoundingClientRect().width,
      under: img.getBoundingClientRect().x === placeholder.getBoundingClientRect().x,
      see: css(img).backgroundColor,
      underline: css(li.querySelector("a .handle")).textDecorationLine,
    };
  });
  // A failed avatar shows the placeholder (initials on a disc), through the transparent image.
  assert.match(look.disc, /^rgb\(\d+, \d+, \d+\)$/);
  assert.equal(look.initials, "RO", "Robert's initials");
  assert.equal(look.width, 36);
  assert.ok(look.under, "the placeholder lies under the image");
  assert.equal(look.see, "rgba(0, 0, 0, 0)", "and shows through it");
  assert.equal(look.underline, "underline");
  await livePage.screenshot({ path: `${ARTIFACTS}top_phone.png`, fullPage: true });
  await live.close();

  const context = await browser.newContext({
    acceptDownloads: true,
    locale: "en-US",
    viewport: { width: 1280, height: 800 },
  });
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin });
  const page = await context.newPage();
  const requests: string[] = [];
  page.on("request", (req) => requests.push(req.url()));

  // Search: the typeahead offers Alice, the keyboard picks her.
  await page.goto(`${origin}/`);
  await page.waitForSelector('[data-island="HandleSearch"][data-hydrated]', {
    state: "attached",
  });
  // That nothing matches is shown, not only read out.
  await page.locator("#q").pressSequentially("zzq");
  await page.locator(".search-none", { hasText: "No handle starts like that" }).waitFor();
  await page.locator("#q").fill("");
  await page.locator("#q").pressSequentially("alic");
  const option = page.locator("#q-list [role=option]", { hasText: `@${alice.handle}` });
  await option.waitFor();
  await page.screenshot({ path: `${ARTIFACTS}home_typeahead.png` });
  await page.keyboard.press("ArrowDown");
  assert.equal(await page.locator("#q").getAttribute("aria-activedescendant"), "q-opt-0");
  await page.keyboard.press("Escape");
  assert.equal(await page.locator("#q").getAttribute("aria-activedescendant"), null);
  // Enter on what was typed opens the one account the list offers.
  await page.keyboard.type("e");
  await option.waitFor();
  await page.keyboard.press("Enter");
  await page.waitForURL(`${origin}/c/${alice.handle}`);

  // The table and the alt text match the ground truth.
  assert.deepEqual(asTruth(await tableRows(page)), expected("both"));
  const alt = await page.locator("svg.circles > title").textContent();
  const handleOf = (did: string) => truth.handles.get(did)!;
  for (const did of expected("both").keys()) {
    assert.ok(alt!.includes(`@${handleOf(did)}`), `${alt} names ${handleOf(did)}`);
  }
  assert.equal(await page.locator("svg.circles").getAttribute("role"), "img");
  // Only rings with people are drawn, and each ring's people are spread around all of it.
  assert.equal(
    await page.locator("svg.circles > circle[stroke-opacity]").count(),
    ringsFor(expected("both").size),
  );
  const steps = await ringSteps(page);
  assert.ok(steps.length > 0);
  for (const step of steps) assert.ok(Math.abs(step - 360 / steps.length) < 0.2, `${steps}`);
  // Robert's avatar arrived through the site's proxy.
  const robert = page.locator(`#people tr[data-did="${accounts.bob.did}"] img`);
  await settled(async () =>
    assert.ok(await robert.evaluate((img: Dom) => img.complete && img.naturalWidth > 0))
  );
  await page.screenshot({ path: `${ARTIFACTS}circles.png`, fullPage: true });
  // On a wide screen the options sit beside the picture, in the first screenful.
  const picture = (await page.locator("svg.circles").boundingBox())!;
  const panel = (await page.locator("form.options").boundingBox())!;
  assert.ok(panel.x >= picture.x + picture.width, "the options are right of the picture");
  assert.ok(panel.y < picture.y + picture.height && panel.y < 800, "and level with it");

  // By keyboard the options come right after the picture, before the table's links.
  await page.evaluate(() => (globalThis as Dom).document.activeElement?.blur());
  let tabs = 0;
  while (tabs < 40) {
    tabs++;
    await page.keyboard.press("Tab");
    const where = await page.evaluate(() => {
      const el = (globalThis as Dom).document.activeElement;
      return el.closest("form.options") ? "options" : el.closest("#people") ? "table" : "";
    });
    assert.notEqual(where, "table", "the table's links come after the options");
    if (where === "options") break;
  }
  assert.ok(tabs <= 10, `${tabs} Tabs reach the first option`);

  // Options: arrow keys walk the rings to one; the page follows once, where they rest.
  await page.waitForSelector('[data-island="CircleOptions"][data-hydrated]', {
    state: "attached",
  });
  const pageFetches = () =>
    requests.filter((u) => u.startsWith(`${origin}/c/${alice.handle}?`)).length;
  const before = pageFetches();
  await page.locator('input[name="rings"]:checked').focus();
  await page.keyboard.press("ArrowLeft");
  await page.keyboard.press("ArrowLeft");
  await applied(page, "rings=1");
  assert.equal(pageFetches() - before, 1, "one new picture for two steps");
  // What changed is said in one short line, not by reading the whole result again.
  assert.equal(
    await page.locator("[aria-live], [role=status]", { has: page.locator("svg") }).count(),
    0,
  );
  assert.equal(await page.locator("#result").getAttribute("aria-live"), null);
  assert.match(
    (await page.locator("#circles-status").textContent())!,
    /^People: \d+ · Both · 30 days$/,
  );
  assert.equal(await page.locator("svg.circles > circle[stroke-opacity]").count(), 1);
  await page.locator('input[name="direction"][value="sent"]').check();
  await applied(page, "direction=sent");
  assert.equal(
    await page.locator("#circles-status").textContent(),
    `People: ${expected("sent").size} · Sent · 30 days`,
  );
  assert.equal(new URL(page.url()).search, "?rings=1&direction=sent");
  assert.deepEqual(asTruth(await tableRows(page)), expected("sent"));
  assert.equal(
    await page.locator("#share-url").inputValue(),
    `${origin}/c/${alice.handle}?rings=1&direction=sent`,
  );
  await page.screenshot({ path: `${ARTIFACTS}circles_sent_one_ring.png`, fullPage: true });

  // Copy handles puts the table's handles on the clipboard.
  await page.waitForSelector('[data-island="CircleActions"][data-hydrated]', {
    state: "attached",
  });
  await page.getByRole("button", { name: "Copy handles" }).click();
  await page.getByRole("status").filter({ hasText: "Copied" }).waitFor();
  const copied = await page.evaluate(() => (globalThis as Dom).navigator.clipboard.readText());
  assert.deepEqual(
    copied.split(" ").sort(),
    [...expected("sent").keys()].map((d) => `@${handleOf(d)}`).sort(),
  );

  // Download PNG: the image for these options, 1200 px square.
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.click("#download-png"),
  ]);
  assert.match(download.url(), /rings=1&direction=sent/);
  const png = decode(await Deno.readFile((await download.path())!));
  assert.equal(png.width, 1200);
  assert.equal(png.height, 1200);
  assert.equal(download.suggestedFilename(), `circles-${alice.handle}.png`);
  // The site's address is written at its bottom right, where nothing else is drawn.
  const channels = png.data.length / (png.width * png.height);
  const [r0, g0, b0] = [15, 23, 42]; // the default background, 0f172a
  let inked = 0;
  for (let y = 1170; y < 1196; y++) {
    for (let x = 900; x < 1190; x++) {
      const i = (y * png.width + x) * channels;
      const d = Math.abs(png.data[i] - r0) + Math.abs(png.data[i + 1] - g0) +
        Math.abs(png.data[i + 2] - b0);
      if (d > 60) inked++;
    }
  }
  assert.ok(inked > 100, `${inked} pixels of the address`);

  // The date is drawn in the picture when asked for, and printed nowhere once it is off.
  const date = /\d{4}-\d\d-\d\d/;
  assert.match((await page.locator("svg.circles").textContent())!, date);
  await page.locator('input[name="date"][type="checkbox"]').uncheck();
  await applied(page, "date=0");
  assert.doesNotMatch((await page.locator(".picture").textContent())!, date);

  // A theme preset sets both colours at once.
  await page.locator(".theme", { hasText: "Day" }).click();
  await applied(page, "bg=ffffff");
  assert.match(page.url(), /border=0550ae/);
  assert.equal(await page.locator("svg.circles > rect").getAttribute("fill"), "#ffffff");
  // A border chosen too close to the background is said, and a preset that reads well clears it.
  assert.equal(await page.locator(".contrast-note").textContent(), "");
  await page.locator('input[name="border"]').fill("#eeeeee");
  await applied(page, "border=eeeeee");
  assert.match(
    (await page.locator(".contrast-note").textContent())!,
    /hard to tell apart \(1\.2:1/,
  );
  await page.locator(".theme", { hasText: "High contrast" }).click();
  await applied(page, "bg=000000");
  assert.match(page.url(), /border=ffff00/);
  assert.equal(
    await page.locator('.theme[aria-current="true"]').textContent(),
    "High contrast",
    "the chosen preset is marked",
  );
  assert.equal(await page.locator(".contrast-note").textContent(), "");

  // Names under the avatars: one for each person in the picture.
  await page.locator('input[name="names"][type="checkbox"]').check();
  await applied(page, "names=1");
  const names = await page.locator("svg.circles text.avatar-name").allTextContents();
  assert.equal(names.length, (await tableRows(page)).length);
  assert.ok(names.every((name) => name.length > 0), `${names}`);
  await page.screenshot({ path: `${ARTIFACTS}circles_names.png` });

  // The browser asked nothing of any other origin.
  const foreign = requests.filter((u) =>
    !u.startsWith(origin) && !u.startsWith("data:") && !u.startsWith("blob:")
  );
  assert.deepEqual(foreign, []);

  // Without JavaScript the options are a plain form; on a phone the page fits the screen.
  const plain = await browser.newContext({
    javaScriptEnabled: false,
    viewport: { width: 390, height: 844 },
    locale: "pt-BR",
  });
  const phone = await plain.newPage();
  // The search form alone takes a bare name to the one handle starting with it.
  await phone.goto(`${origin}/`);
  await phone.locator("#q").fill("alice");
  await Promise.all([
    phone.waitForURL(`${origin}/c/${alice.handle}`),
    phone.keyboard.press("Enter"),
  ]);
  assert.equal(
    await phone.locator("h1").first().textContent(),
    `Círculos de interação de ${await phone.locator("h1 .handle").textContent()}`,
  );
  await phone.locator('input[name="rings"][value="2"]').check();
  await phone.locator('input[name="direction"][value="received"]').check();
  await Promise.all([
    phone.waitForURL(/rings=2/),
    phone.getByRole("button", { name: "Aplicar" }).click(),
  ]);
  assert.equal(
    await phone.locator("svg.circles > circle[stroke-opacity]").count(),
    Math.min(2, ringsFor(expected("received").size)),
  );
  assert.deepEqual(asTruth(await tableRows(phone)), expected("received"));
  const width = await phone.evaluate(() =>
    (globalThis as Dom).document.documentElement.scrollWidth
  );
  assert.ok(width <= 390, `the page is ${width} px wide on a 390 px screen`);
  // The options come right after the picture, before the table, within reach of a thumb.
  const options = (await phone.locator("form.options").boundingBox())!;
  const figure = (await phone.locator("svg.circles").boundingBox())!;
  const people = (await phone.locator("details.people-details").boundingBox())!;
  assert.ok(options.y > figure.y && options.y < people.y, "picture, options, then the table");
  assert.ok(options.y < 1.2 * 844, `the options start ${options.y} px down`);
  const small = await phone.$$eval(
    "form.options label, form.options button, #download-png, details.people-details > summary",
    (els: Dom[]) =>
      els.map((el) => [el.textContent.trim(), el.getBoundingClientRect().height])
        .filter(([, h]) => h < 44),
  );
  assert.deepEqual(small, [], "every control is at least 44 px high");
  // The table folds away without JavaScript.
  assert.ok(await phone.locator("#people").isVisible());
  await phone.locator("details.people-details > summary").click();
  assert.ok(!(await phone.locator("#people").isVisible()), "the table folds");
  await phone.locator("details.people-details > summary").click();
  assert.ok(await phone.locator("#people").isVisible());
  // Copying needs JavaScript: without it, no Copy button is offered.
  assert.equal(await phone.locator(".copy-actions button:visible").count(), 0);
  await phone.screenshot({ path: `${ARTIFACTS}circles_phone_no_js.png`, fullPage: true });
  // Without JavaScript a theme preset is a link to the page in those colours.
  await Promise.all([
    phone.waitForURL(/bg=ffffff&border=0550ae/),
    phone.locator(".theme", { hasText: "Dia" }).click(),
  ]);
  assert.equal(await phone.locator("svg.circles > rect").getAttribute("fill"), "#ffffff");
  await plain.close();

  // Pages for what cannot be shown.
  const unknown = await page.goto(`${origin}/c/nobody.test`);
  assert.equal(unknown!.status(), 404);
  assert.equal(await page.locator("[data-error]").getAttribute("data-error"), "not_found");
  await page.screenshot({ path: `${ARTIFACTS}unknown_handle.png` });

  // Opting out, by keyboard: the code page says what to post; Carol posts it from her
  // PDS account, and the page then says she is hidden, and her circles are gone.
  const carol = accounts.carol;
  await page.goto(`${origin}/optout`);
  await page.getByLabel("Your handle").focus();
  await page.keyboard.type(carol.handle);
  await Promise.all([page.waitForURL(/\/optout\?code=/), page.keyboard.press("Enter")]);
  const phrase = await page.locator("code.phrase").textContent();
  assert.match(phrase!, /^circles-out-[A-HJ-NP-Z2-9]{8}$/);
  await page.screenshot({ path: `${ARTIFACTS}optout_code.png` });
  await carol.post({ text: `Leaving the circles: ${phrase}` });
  await settled(
    async () => {
      await page.reload();
      assert.equal(await page.locator("[data-state]").getAttribute("data-state"), "done");
    },
    30_000,
    500,
  );
  await settled(
    async () => {
      const gone = await page.goto(`${origin}/c/${carol.handle}`);
      assert.equal(gone!.status(), 410);
    },
    10_000,
    500,
  );
  await context.close();
});
