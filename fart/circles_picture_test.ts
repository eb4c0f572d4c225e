import assert from "node:assert/strict";
import { renderToString } from "preact-render-to-string";
import { h } from "preact";
import { parsePeriod, periodWindow } from "@bsky/store/periods";
import { windowRange } from "@bsky/store/queries";
import { circleLayout, type CirclePerson, dateRange, renderCirclesSvg } from "./circles.ts";
import { CirclesPicture } from "./circles_picture.tsx";
import {
  PLACEHOLDER_HUES,
  PLACEHOLDER_INK,
  PLACEHOLDER_PALETTE,
  placeholderColour,
} from "./placeholder.ts";
import { circleOptions as opts } from "./testing/circle_options.ts";

const owner: CirclePerson = { did: "did:plc:owner", displayName: "Alice Liddell", score: 0 };

/** Each person's placeholder in an SVG: its disc's fill and its text's fill and text. */
function placeholders(svg: string): Map<string, { disc: string; ink: string; text: string }> {
  const found = new Map();
  const group = /<g data-did="([^"]+)">(.*?)<\/g>/gs;
  for (const [, did, inner] of svg.matchAll(group)) {
    const disc = /<circle [^>]*fill="(#[0-9a-f]{6})"/.exec(inner);
    const text = /<text (?![^>]*class=)[^>]*fill="([^"]+)"[^>]*>([^<]*)<\/text>/.exec(inner);
    if (disc && text) found.set(did, { disc: disc[1], ink: text[1], text: text[2] });
  }
  return found;
}

/** WCAG 2's contrast ratio of two "#rrggbb" colours, worked out here from the definition. */
function wcagContrast(a: string, b: string): number {
  const lum = (hex: string) => {
    const [r, g, bl] = [1, 3, 5].map((i) => {
      const c = parseInt(hex.slice(i, i + 2), 16) / 255;
      return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

Deno.test("the picture's placeholder shows two initials for a two-word name, in the document and in a page", () => {
  const ranked: CirclePerson[] = [
    { did: "did:plc:maya", displayName: "Maya Costa", handle: "maya.test", score: 3 },
    { did: "did:plc:jo", handle: "jo-ann-park.test", score: 2 },
    { did: "did:plc:nobody", score: 1 },
  ];
  const layout = circleLayout(owner, ranked, opts());
  const doc = placeholders(renderCirclesSvg(layout, new Map(), opts()));
  const page = placeholders(renderToString(h(CirclesPicture, {
    layout,
    background: "#ffffff",
    border: "#000000",
    label: "circles",
    avatar: () => undefined,
    inPage: { class: "circles", labelId: "t", idPrefix: "av" },
  })));
  for (const found of [doc, page]) {
    assert.equal(found.get("did:plc:maya")?.text, "MC");
    assert.equal(found.get("did:plc:jo")?.text, "JP", "the handle's words without a name");
    assert.equal(found.get("did:plc:owner")?.text, "AL");
    assert.equal(found.get("did:plc:nobody")?.text, "?");
  }
});

Deno.test("distinct accounts get distinguishable placeholders: their initials or their colour differ", () => {
  const ranked = Array.from({ length: 30 }, (_, i): CirclePerson => ({
    did: `did:plc:p${i}`,
    handle: `user${i}.test`,
    score: 100 - i,
  }));
  const found = placeholders(
    renderCirclesSvg(circleLayout(owner, ranked, opts()), new Map(), opts()),
  );
  assert.equal(found.size, 31);
  const looks = [...found.values()].map((p) => `${p.disc} ${p.text}`);
  assert.equal(new Set(looks).size, looks.length, looks.join(", "));
  // user0 and user10 have the same initials: the colour tells them apart.
  assert.equal(found.get("did:plc:p0")!.text, found.get("did:plc:p10")!.text);
  assert.notEqual(found.get("did:plc:p0")!.disc, found.get("did:plc:p10")!.disc);
  for (const p of found.values()) assert.ok(PLACEHOLDER_PALETTE.includes(p.disc), p.disc);
  // A person keeps their colour, and many people use the whole palette.
  assert.equal(placeholderColour("did:plc:p0"), found.get("did:plc:p0")!.disc);
  const dids = Array.from({ length: 500 }, (_, i) => `did:plc:${i.toString(36).padStart(24, "a")}`);
  assert.equal(new Set(dids.map(placeholderColour)).size, PLACEHOLDER_HUES);
  assert.equal(new Set(PLACEHOLDER_PALETTE).size, PLACEHOLDER_HUES, "no two colours alike");
});

Deno.test("every palette colour keeps WCAG's 4.5:1 with the placeholder's text colour", () => {
  assert.equal(PLACEHOLDER_PALETTE.length, PLACEHOLDER_HUES);
  for (const colour of PLACEHOLDER_PALETTE) {
    const ratio = wcagContrast(colour, PLACEHOLDER_INK);
    assert.ok(ratio >= 4.5, `${PLACEHOLDER_INK} on ${colour}: ${ratio.toFixed(2)}:1`);
  }
  // The picture writes the initials in that colour.
  const svg = renderCirclesSvg(circleLayout(owner, [], opts()), new Map(), opts());
  assert.equal(placeholders(svg).get("did:plc:owner")?.ink, PLACEHOLDER_INK);
});

const HOUR = 3_600_000;
const at = (iso: string) => Date.parse(iso);
const rolling = (hours: number, now: number) => {
  const { from, to } = windowRange(hours, now);
  return dateRange(from, to);
};
const period = (name: string, now: number) => {
  const w = periodWindow(parsePeriod(name)!, now)!;
  return dateRange(new Date(w.from), new Date(w.to));
};

Deno.test("the date range ends on the last day a span covers: a week on its Sunday, a month on its last day", () => {
  // Week 47 of 2026 runs from Monday 16 November 00:00 to Monday 23 November 00:00 UTC.
  assert.equal(period("week:2026-W47", at("2026-11-23T00:00:00Z")), "2026-11-16 – 2026-11-22");
  assert.equal(period("week:2026-W47", at("2026-12-30T12:00:00Z")), "2026-11-16 – 2026-11-22");
  // While it runs: to the end of the current hour, so to today.
  assert.equal(period("week:2026-W47", at("2026-11-18T09:30:00Z")), "2026-11-16 – 2026-11-18");
  // Its last hour: from Sunday 23:00, the span ends at Monday 00:00, still Sunday's.
  assert.equal(period("week:2026-W47", at("2026-11-22T23:59:59Z")), "2026-11-16 – 2026-11-22");
  assert.equal(period("week:2026-W53", at("2027-01-10T00:00:00Z")), "2026-12-28 – 2027-01-03");
  assert.equal(period("month:2026-11", at("2026-12-01T00:00:00Z")), "2026-11-01 – 2026-11-30");
  assert.equal(period("month:2028-02", at("2028-03-05T00:00:00Z")), "2028-02-01 – 2028-02-29");
  assert.equal(period("month:2026-12", at("2027-01-01T00:00:00Z")), "2026-12-01 – 2026-12-31");
  // The first hour of a month: one day.
  assert.equal(period("month:2026-12", at("2026-12-01T00:10:00Z")), "2026-12-01");
});

Deno.test("the date range of a rolling window ending at midnight ends the day before", () => {
  // 24 hours at 23:30 end at the next midnight: that day alone.
  assert.equal(rolling(24, at("2026-11-29T23:30:00Z")), "2026-11-29");
  // An hour later they reach into the new day.
  assert.equal(rolling(24, at("2026-11-30T00:30:00Z")), "2026-11-29 – 2026-11-30");
  assert.equal(rolling(7 * 24, at("2026-11-30T15:44:00Z")), "2026-11-23 – 2026-11-30");
  assert.equal(rolling(7 * 24, at("2026-11-29T23:00:00Z")), "2026-11-23 – 2026-11-29");
  assert.equal(rolling(30 * 24, at("2026-03-01T23:59:00Z")), "2026-01-31 – 2026-03-01");
  // A span ending a millisecond after midnight has that day in it; an empty one its first.
  const midnight = at("2026-11-30T00:00:00Z");
  assert.equal(
    dateRange(new Date(midnight - 24 * HOUR), new Date(midnight + 1)),
    "2026-11-29 – 2026-11-30",
  );
  assert.equal(dateRange(new Date(midnight), new Date(midnight)), "2026-11-30");
  assert.throws(() => dateRange(new Date(NaN), new Date(midnight)), /Invalid from date/);
  assert.throws(() => dateRange(new Date(midnight), new Date(NaN)), /Invalid to date/);
});

Deno.test("the picture prints the week's range to its Sunday", () => {
  const w = periodWindow(parsePeriod("week:2026-W47")!, at("2026-11-30T15:44:00Z"))!;
  const options = opts({ showDate: true, from: new Date(w.from), to: new Date(w.to) });
  const svg = renderCirclesSvg(circleLayout(owner, [], options), new Map(), options);
  assert.ok(svg.includes(">2026-11-16 – 2026-11-22</text>"), svg);
  assert.ok(!svg.includes("2026-11-23"));
});
