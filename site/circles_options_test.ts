/**
 * The circles page's weeks and months, exclusions and changes, through the site's handler
 * over the real API handler and a real redis-server (site/testing/stack.ts), with weeks of
 * past interactions written by the real applier.
 */
import assert from "node:assert/strict";
import type { FirehoseEvent } from "@bsky/shared/events";
import { nextSeq } from "@bsky/shared/testing/events";
import { Applier } from "@bsky/store/apply";
import { HOUR_MS } from "@bsky/store/layout";
import { periodAt } from "@bsky/store/periods";
import { ALICE, withStack } from "./testing/stack.ts";
import { BOT, pastWeeks } from "./testing/past_weeks.ts";
import {
  borderContrast,
  cleanExclude,
  MIN_BORDER_CONTRAST,
  parseOptions,
  THEMES,
} from "./options.ts";

const NOW = Date.now();
/** Last week, and the one before it. */
const { last: LAST, before: BEFORE, events: PAST_WEEKS } = pastWeeks(NOW);

/** The bot's handle, and the two past weeks (site/testing/past_weeks.ts). */
const PAST: FirehoseEvent[] = [
  { v: 1, kind: "identity", seq: nextSeq(), time: NOW, did: BOT, handle: "bot.test" },
  ...PAST_WEEKS,
];

const html = async (res: Response) => ({ status: res.status, text: await res.text() });
/** The people table's rows, by handle. */
const rows = (text: string) =>
  [...text.matchAll(/<tr data-did="[^"]+" data-handle="([^"]*)"/g)].map((m) => m[1]);

Deno.test("the options take a week or a month, exclusions, mutual follows and bots from the URL, and drop what cannot be one", () => {
  const o = parseOptions(
    new URLSearchParams(
      "period=week:2026-W47&exclude=@Bob.test, carol.test,not_a_handle!,bob.test&mutuals=only&bots=hide",
    ),
  );
  assert.deepEqual([o.period, o.exclude, o.mutuals, o.bots], [
    "week:2026-W47",
    "bob.test,carol.test",
    "only",
    "hide",
  ]);
  const odd = parseOptions(new URLSearchParams("period=week:2026&mutuals=some&bots=yes"));
  assert.deepEqual([odd.period, odd.exclude, odd.mutuals, odd.bots], ["", "", "all", "show"]);
  const many = Array.from({ length: 40 }, (_, i) => `p${i}.test`).join(",");
  assert.equal(cleanExclude(many).split(",").length, 25);
  assert.equal(cleanExclude(`https://bsky.app/profile/Alice.test ${ALICE}`), `alice.test,${ALICE}`);
});

Deno.test("the circles page offers the weeks and months that are kept, shows a chosen one, and what changed since the one before", async () => {
  await withStack(async ({ get, redis, apiCalls }) => {
    await new Applier(redis, { retentionDays: 30, memoryHours: 48 }).apply(PAST);
    const plain = await html(await get("/c/alice.test"));
    assert.equal(plain.status, 200);
    // The picker: this week (so far), the four before it that started within 30 days, this month.
    const values = [...plain.text.matchAll(/<option value(?:="([^"]*)")?/g)].map((m) => m[1] ?? "");
    assert.equal(values[0], "", "none: the window above");
    const weeks = values.filter((v) => v.startsWith("week:"));
    assert.equal(weeks[0], periodAt("week", NOW).name);
    assert.equal(weeks[1], LAST.name);
    assert.ok(weeks.length >= 4 && weeks.length <= 5, `${weeks}`);
    // This month, unless it started more than the retention (less the API's hour) ago, as
    // it has in the last hours of a 31-day month.
    const month = periodAt("month", NOW);
    const monthKept = month.start >= NOW - 30 * 24 * HOUR_MS + HOUR_MS;
    assert.equal(values.includes(month.name), monthKept, `${month.name} offered: ${values}`);
    assert.match(plain.text, /<select name="period" aria-describedby="period-note">/);
    assert.match(plain.text, /\(so far\)<\/option>/);
    const week = Number(LAST.name.slice(-2));
    assert.match(plain.text, new RegExp(`<option value="${LAST.name}">Week ${week}: `));
    // 30 days back: the previous 30 days are not kept, so there is nothing to compare with.
    assert.match(plain.text, /What changed since the 30 days before/);
    assert.match(plain.text, /There is nothing to compare with/);

    apiCalls.length = 0;
    const page = await html(await get(`/c/alice.test?period=${LAST.name}`));
    assert.equal(page.status, 200);
    assert.ok(
      apiCalls.some((c) =>
        c.startsWith(`/v1/circles/alice.test?`) && c.includes(`window=${LAST.name}`)
      ),
    );
    assert.ok(
      apiCalls.some((c) =>
        c.startsWith(`/v1/circles/alice.test/changes?`) && c.includes(`window=${LAST.name}`)
      ),
    );
    assert.deepEqual(rows(page.text), ["bot.test", "carol.test", "eve.test"]);
    assert.match(page.text, /data-handle="bot.test">(?:(?!<\/tr>)[\s\S])*data-col="like">1100</);
    assert.match(page.text, new RegExp(`<option value="${LAST.name}" selected>Week ${week}: `));
    assert.match(
      page.text,
      new RegExp(`value="http://site.test/c/alice.test\\?period=${LAST.name.replace(":", "%3A")}"`),
    );
    // The alt text and the status line name the week.
    assert.match(page.text, new RegExp(`<title id="circles-alt">[^<]*\\(Both, Week ${week}: `));
    // What changed since the week before: the bot and Carol came, Bob went, Eve stayed.
    assert.match(page.text, /<h2 id="changes-title">What changed since the previous week<\/h2>/);
    assert.match(page.text, new RegExp(`Compared with Week ${Number(BEFORE.name.slice(-2))}: `));
    const group = (id: string) =>
      [...(page.text.match(new RegExp(`data-change="${id}">([\\s\\S]*?)</ul>`))?.[1] ?? "")
        .matchAll(/<span class="handle">@([^<]+)<\/span>/g)].map((m) => m[1]);
    assert.deepEqual(group("joined"), ["bot.test", "carol.test"]);
    assert.deepEqual(group("left"), ["bob.test"]);
    assert.deepEqual(group("moved"), []);
    assert.match(page.text, /1 person stayed on the same ring\./);
    const pt = await html(await get(`/c/alice.test?period=${LAST.name}&lang=pt`));
    assert.match(pt.text, /O que mudou desde a semana anterior/);
    assert.match(pt.text, /<h3>Entraram \(2\)<\/h3>/);
    assert.match(pt.text, new RegExp(`Semana ${week}: `));

    // A week the API no longer keeps (an old link's) gives the window instead.
    const old = periodAt("week", NOW - 60 * 24 * HOUR_MS).name;
    const gone = await get(`/c/alice.test?period=${old}&rings=2`);
    assert.equal(gone.status, 303);
    assert.equal(gone.headers.get("location"), "/c/alice.test?rings=2");
    await gone.body?.cancel();
  });
});

Deno.test("exclusions, mutual follows and bots leave people out of the picture, the table and the changes, and the form and share link keep them", async () => {
  await withStack(async ({ get, redis, apiCalls }) => {
    await new Applier(redis, { retentionDays: 30, memoryHours: 48 }).apply(PAST);
    const at = (query: string) => get(`/c/alice.test?period=${LAST.name}&${query}`).then(html);
    const bots = await at("bots=hide");
    assert.deepEqual(rows(bots.text), ["carol.test", "eve.test"]);
    assert.doesNotMatch(bots.text, /<g data-did="did:plc:g{24}"/);
    assert.match(bots.text, /<input type="checkbox" name="bots" value="hide" checked/);
    assert.match(bots.text, /<h3>Joined \(1\)<\/h3>/, "Carol only");
    const excluded = await at("exclude=carol.test,%40Bot.test");
    assert.deepEqual(rows(excluded.text), ["eve.test"]);
    assert.ok(apiCalls.some((c) => c.includes("exclude=carol.test%2Cbot.test")));
    assert.match(excluded.text, /<input type="text" name="exclude" value="carol.test, bot.test"/);
    assert.match(excluded.text, /\?period=week%3A\d{4}-W\d\d&amp;exclude=carol.test%2Cbot.test"/);
    const mutual = await at("mutuals=only");
    assert.deepEqual(rows(mutual.text), ["eve.test"]);
    assert.match(mutual.text, /<input type="radio" name="mutuals" value="only" checked/);
    const none = await at("mutuals=none&bots=hide");
    assert.deepEqual(rows(none.text), ["carol.test"]);
    // The changes leave them out too: without the bot, only Carol joined.
    assert.match(none.text, /<h3>Joined \(1\)<\/h3>/);
    // The image for Download carries the same choices to the API.
    const png = none.text.match(/href="(\/img\/alice\.test\.png\?[^"]+)"/)![1].replaceAll(
      "&amp;",
      "&",
    );
    assert.match(png, new RegExp(`period=${LAST.name.replace(":", "%3A")}`));
    assert.match(png, /mutuals=none&bots=hide/);
    const image = await get(png);
    assert.equal(image.status, 200);
    assert.equal(image.headers.get("content-type"), "image/png");
    await image.body?.cancel();
    // The picture the API draws is the chosen week's, with the same choices.
    const drawn = apiCalls.filter((c) => c.includes(".png?")).at(-1)!;
    assert.match(drawn, new RegExp(`window=${LAST.name.replace(":", "%3A")}`));
    assert.match(drawn, /mutuals=none&bots=hide/);
  });
});

Deno.test("/about states the bot rule and the periods in both languages", async () => {
  await withStack(async ({ get }) => {
    const en = await html(await get("/about?lang=en"));
    assert.match(en.text, /<h2 id="leave-out">Leaving people out<\/h2>/);
    assert.match(
      en.text,
      /more than 1,000\s+interactions \(likes, reposts, replies, quotes and mentions, to anyone\) within one UTC day/,
    );
    assert.match(en.text, /one week \(Monday to Sunday\) or one\s+calendar month, in UTC/);
    const pt = await html(await get("/about?lang=pt"));
    assert.match(pt.text, /mais de\s+1\.000\s+interações/);
    assert.match(pt.text, /<h2 id="periods">Semanas e meses<\/h2>/);
  });
});

Deno.test("the themes' borders read well on their backgrounds, and the page says when chosen colours are hard to tell apart", async () => {
  for (const [name, { bg, border }] of Object.entries(THEMES)) {
    assert.ok(borderContrast(bg, border) >= MIN_BORDER_CONTRAST, name);
  }
  assert.ok(Math.abs(borderContrast("000000", "ffffff") - 21) < 1e-9);
  assert.equal(borderContrast("123456", "123456"), 1);
  await withStack(async ({ get, redis }) => {
    await new Applier(redis, { retentionDays: 30, memoryHours: 48 }).apply(PAST);
    const note = (text: string) =>
      text.match(/<p class="contrast-note" role="status">([^<]*)<\/p>/)?.[1];
    const plain = await get("/c/alice.test").then(html);
    assert.equal(note(plain.text), "", "the default colours need no note");
    const faint = await get("/c/alice.test?bg=ffffff&border=eeeeee").then(html);
    assert.equal(faint.status, 200);
    assert.match(note(faint.text)!, /hard to tell apart \(1\.2:1; 3:1 or more reads well\)/);
    const pt = await get("/c/alice.test?bg=ffffff&border=eeeeee&lang=pt").then(html);
    assert.match(note(pt.text)!, /mal se distinguem \(1\.2:1/);
    for (const name of ["contrast", "navy"] as const) {
      const { bg, border } = THEMES[name];
      const themed = await get(`/c/alice.test?bg=${bg}&border=${border}`).then(html);
      assert.equal(note(themed.text), "", name);
    }
  });
});
