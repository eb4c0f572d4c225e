import assert from "node:assert/strict";
import { decode, encode } from "fast-png";
import {
  type Avatars,
  circleLayout,
  type CircleOptions,
  type CirclePerson,
  type PlacedPerson,
  placeholderColour,
  renderCirclesSvg,
} from "./circles.ts";
import { renderPng } from "./png.ts";
import { HOSTILE_NAMES, LONGEST_HANDLE } from "./testing/hostile_names.ts";

type Rgb = [number, number, number];

/** A 32x32 solid blue JPEG (cjpeg -optimize): the test has no JPEG encoder of its own. */
const BLUE_JPEG =
  "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAMCAgMCAgMDAwMEAwMEBQgFBQQEBQoHBwYIDAoMDAsKCwsNDhIQDQ4RDgsLEBYQERMUFRUVDA8XGBYUGBIUFRT/2wBDAQMEBAUEBQkFBQkUDQsNFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBT/wAARCAAgACADASIAAhEBAxEB/8QAFQABAQAAAAAAAAAAAAAAAAAAAAn/xAAUEAEAAAAAAAAAAAAAAAAAAAAA/8QAFgEBAQEAAAAAAAAAAAAAAAAAAAYJ/8QAFBEBAAAAAAAAAAAAAAAAAAAAAP/aAAwDAQACEQMRAD8AnuA1TQ4AAAAAD//Z";
/** A 64x64 solid green lossy WebP (cwebp). */
const GREEN_WEBP =
  "UklGRlYAAABXRUJQVlA4IEoAAABwBACdASpAAEAAPpFIoEwlpCMiIggAsBIJaQDUQoB+AH4AABFxgF1NQBXUAAD+3tY//0YLgOB76X//YzH7Rn+cU47V+nwHkIAAAA==";

const RED: Rgb = [255, 0, 0];
const BLUE: Rgb = [0, 0, 255];
const GREEN: Rgb = [0, 255, 0];
const BACKGROUND: Rgb = [0x10, 0x20, 0x30];

function solidPng([r, g, b]: Rgb, side = 64): Uint8Array {
  const data = new Uint8Array(side * side * 3);
  for (let i = 0; i < data.length; i += 3) data.set([r, g, b], i);
  return encode({ width: side, height: side, data, channels: 3 });
}

function fromBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

function hexRgb(hex: string): Rgb {
  return [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)) as Rgb;
}

const owner: CirclePerson = { did: "did:plc:owner", handle: "alice.test", score: 0 };
const ranked: CirclePerson[] = Array.from({ length: 60 }, (_, i) => ({
  did: `did:plc:p${i}`,
  handle: `user${i}.test`,
  score: 100 - i,
}));

const options: CircleOptions = {
  rings: 3,
  ringSizes: "10-20-30",
  background: "#102030",
  border: "#ffcc00",
  showDate: true,
  from: new Date("2024-05-01T00:00:00Z"),
  to: new Date("2024-05-31T00:00:00Z"),
  title: "@alice.test",
};

const layout = circleLayout(owner, ranked, options);
const find = (did: string): PlacedPerson =>
  layout.rings.flatMap((ring) => ring.people).find((p) => p.did === did)!;

/** Red owner, a red and a blue avatar on the outer rings, one WebP, the rest placeholders. */
const avatars: Avatars = new Map([
  [owner.did, { bytes: solidPng(RED), type: "image/png" }],
  ["did:plc:p25", { bytes: solidPng(RED), type: "image/png" }],
  ["did:plc:p40", { bytes: fromBase64(BLUE_JPEG), type: "image/jpeg" }],
  ["did:plc:p3", { bytes: fromBase64(GREEN_WEBP), type: "image/webp" }],
]);
const svg = renderCirclesSvg(layout, avatars, options);

function decodeRgb(png: Uint8Array) {
  const image = decode(png);
  assert.equal(image.depth, 8);
  const at = (x: number, y: number): Rgb => {
    const i = (Math.round(y) * image.width + Math.round(x)) * image.channels;
    return [image.data[i], image.data[i + 1], image.data[i + 2]];
  };
  return { ...image, at };
}

function assertClose(actual: Rgb, expected: Rgb, what: string, tolerance = 12) {
  const close = actual.every((v, i) => Math.abs(v - expected[i]) <= tolerance);
  assert.ok(close, `${what}: got rgb(${actual}), expected about rgb(${expected})`);
}

for (const width of [600, 1200]) {
  Deno.test(`renderPng() draws ${width}x${width} pixels with the avatars where the layout put them`, async () => {
    const png = decodeRgb(await renderPng(svg, width));
    assert.equal(png.width, width);
    assert.equal(png.height, width);
    const scale = width / layout.size;
    const pixel = (p: PlacedPerson) => png.at(p.x * scale, p.y * scale);
    assertClose(pixel(layout.center), RED, "owner's centre");
    assertClose(pixel(find("did:plc:p25")), RED, "ring 3 PNG avatar's centre");
    assertClose(pixel(find("did:plc:p40")), BLUE, "ring 3 JPEG avatar's centre");
    const placeholder = find("did:plc:p12");
    // Off-centre, beside the letter.
    const beside = png.at((placeholder.x - placeholder.r * 0.7) * scale, placeholder.y * scale);
    assertClose(beside, hexRgb(placeholderColour(placeholder.did)), "placeholder disc", 4);
    for (const [x, y] of [[0, 0], [width - 1, 0], [0, width - 1], [width - 1, width - 1]]) {
      assert.deepEqual(png.at(x, y), BACKGROUND, `corner (${x}, ${y})`);
    }
  });
}

Deno.test("renderPng() shows a WebP avatar, or its placeholder where resvg cannot decode it", async () => {
  const png = decodeRgb(await renderPng(svg, 600));
  const webp = find("did:plc:p3");
  const beside = png.at(webp.x - webp.r * 0.7, webp.y);
  const placeholder = hexRgb(placeholderColour(webp.did));
  const ok = [GREEN, placeholder].some((c) => c.every((v, i) => Math.abs(v - beside[i]) <= 12));
  assert.ok(ok, `got rgb(${beside}), expected green or the placeholder rgb(${placeholder})`);
});

Deno.test("renderPng() draws text with the bundled font", async () => {
  // Without a font resvg drops text silently, so look for ink in the title and date bands.
  const png = decodeRgb(await renderPng(svg, 600));
  const inked = (top: number, bottom: number) => {
    let count = 0;
    for (let y = top; y < bottom; y++) {
      for (let x = 150; x < 450; x++) if (png.at(x, y)[0] > 200) count++;
    }
    return count;
  };
  assert.ok(inked(8, 40) > 100, "title drawn");
  assert.ok(inked(565, 595) > 100, "date drawn");
  const bare = decodeRgb(await renderPng(svg.replace(/<text [^>]*>[^<]*<\/text>/g, ""), 600));
  assert.equal(bare.at(300, 24).join(), BACKGROUND.join(), "the ink came from the text");
});

Deno.test("renderPng() rejects a width it should not render", async () => {
  await assert.rejects(renderPng(svg, 0), /Invalid PNG width: "0"/);
  await assert.rejects(renderPng(svg, 600.5), /Invalid PNG width: "600.5"/);
  await assert.rejects(renderPng(svg, 100_000), /Invalid PNG width: "100000"/);
});

Deno.test("renderPng() draws the circles of people whatever names and handles they have", async () => {
  const people: CirclePerson[] = HOSTILE_NAMES.map((displayName, i) => ({
    did: `did:plc:h${i}`,
    displayName,
    score: 100 - i,
  }));
  const center = { did: owner.did, handle: LONGEST_HANDLE, displayName: HOSTILE_NAMES[0] };
  const hostile = { ...options, title: `@${LONGEST_HANDLE}` };
  const layout = circleLayout({ ...center, score: 0 }, people, hostile);
  const png = decodeRgb(await renderPng(renderCirclesSvg(layout, avatars, hostile), 1200));
  assert.equal(png.width, 1200);
  assertClose(png.at(layout.center.x * 2, layout.center.y * 2), RED, "owner's avatar drawn");
});
