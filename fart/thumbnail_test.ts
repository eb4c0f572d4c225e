import assert from "node:assert/strict";
import { decode as decodePng } from "fast-png";
import jpeg from "jpeg-js";
import { AVATAR_SIDE, imageSize, MAX_PIXELS, thumbnail } from "./thumbnail.ts";
import { makeJpeg, makePng, middle, near, type Rgb } from "./testing/images.ts";

const ORANGE: Rgb = [240, 120, 20];
/** A 64x64 lossy WebP (cwebp), VP8 inside. */
const GREEN_WEBP = Uint8Array.from(
  atob(
    "UklGRlYAAABXRUJQVlA4IEoAAABwBACdASpAAEAAPpFIoEwlpCMiIggAsBIJaQDUQoB+AH4AABFxgF1NQBXUAAD+3tY//0YLgOB76X//YzH7Rn+cU47V+nwHkIAAAA==",
  ),
  (c) => c.charCodeAt(0),
);

/** A RIFF/WEBP file holding one chunk with the given payload. */
function webp(chunk: string, payload: number[]): Uint8Array {
  const body = [..."WEBP"].map((c) => c.charCodeAt(0));
  const fourcc = [...chunk].map((c) => c.charCodeAt(0));
  const size = payload.length;
  const bytes = [...body, ...fourcc, size & 255, size >> 8 & 255, 0, 0, ...payload];
  const riff = bytes.length;
  return new Uint8Array([0x52, 0x49, 0x46, 0x46, riff & 255, riff >> 8 & 255, 0, 0, ...bytes]);
}

/** A PNG whose header claims `width` x `height`, with a few bytes of image data. */
function pngClaiming(width: number, height: number): Uint8Array {
  const png = makePng(1, 1, ORANGE);
  const view = new DataView(png.buffer, png.byteOffset);
  view.setUint32(16, width);
  view.setUint32(20, height);
  return png;
}

/** A JPEG whose frame header claims `width` x `height`. */
function jpegClaiming(width: number, height: number): Uint8Array {
  const bytes = makeJpeg(16, 16, ORANGE);
  for (let i = 2; i < bytes.length - 9; i++) {
    if (bytes[i] === 0xff && bytes[i + 1] === 0xc0) {
      new DataView(bytes.buffer, bytes.byteOffset).setUint16(i + 5, height);
      new DataView(bytes.buffer, bytes.byteOffset).setUint16(i + 7, width);
      return bytes;
    }
  }
  throw new Error("No frame header");
}

Deno.test("imageSize() reads width and height from JPEG, PNG and WebP headers", () => {
  assert.deepEqual(imageSize(makeJpeg(321, 123, ORANGE)), { width: 321, height: 123 });
  assert.deepEqual(imageSize(makePng(77, 99, ORANGE)), { width: 77, height: 99 });
  assert.deepEqual(imageSize(GREEN_WEBP), { width: 64, height: 64 });
  // VP8L: signature 0x2f, then 14 bits of width - 1 and 14 of height - 1.
  const bits = (300 - 1) | ((200 - 1) << 14);
  const lossless = webp("VP8L", [0x2f, bits & 255, bits >> 8 & 255, bits >> 16 & 255, bits >>> 24]);
  assert.deepEqual(imageSize(lossless), { width: 300, height: 200 });
  // VP8X: flags, reserved, then 24 bits of width - 1 and of height - 1.
  const w = 5000 - 1, h = 6000 - 1;
  const extended = webp("VP8X", [
    0,
    0,
    0,
    0,
    w & 255,
    w >> 8 & 255,
    w >> 16,
    h & 255,
    h >> 8 & 255,
    h >> 16,
  ]);
  assert.deepEqual(imageSize(extended), { width: 5000, height: 6000 });
  for (
    const cut of [makeJpeg(10, 10, ORANGE).subarray(0, 20), makePng(5, 5, ORANGE).subarray(0, 18)]
  ) {
    assert.equal(imageSize(cut), undefined, "a header cut short");
  }
  assert.equal(imageSize(new TextEncoder().encode("<svg/>")), undefined);
});

Deno.test("thumbnail() keeps an avatar no larger than an avatar needs as it is", async () => {
  for (
    const bytes of [makeJpeg(AVATAR_SIDE, AVATAR_SIDE, ORANGE), makePng(40, 60, ORANGE), GREEN_WEBP]
  ) {
    assert.equal((await thumbnail(bytes))?.bytes, bytes);
  }
});

Deno.test("thumbnail() scales a full-size JPEG down to a centred square JPEG of 128 px", async () => {
  const full = makeJpeg(1000, 1000, ORANGE, 40, 92);
  assert.ok(full.length > 100_000, `${full.length} bytes, like a photo`);
  const small = await thumbnail(full);
  assert.equal(small?.type, "image/jpeg");
  assert.ok(small!.bytes.length < 20_000, `${small!.bytes.length} bytes`);
  const image = jpeg.decode(small!.bytes, { useTArray: true });
  assert.deepEqual([image.width, image.height], [AVATAR_SIDE, AVATAR_SIDE]);
  assert.ok(near(middle(image), ORANGE, 24), `got rgb(${middle(image)})`);
  // A wide picture gives its middle square, not a squashed whole.
  const wide = await thumbnail(makeJpeg(1000, 400, ORANGE));
  const cropped = jpeg.decode(wide!.bytes, { useTArray: true });
  assert.deepEqual([cropped.width, cropped.height], [AVATAR_SIDE, AVATAR_SIDE]);
});

Deno.test("thumbnail() keeps a see-through avatar's transparency, as a PNG", async () => {
  const small = await thumbnail(makePng(500, 500, ORANGE, 128));
  assert.equal(small?.type, "image/png");
  const image = decodePng(small!.bytes);
  assert.deepEqual([image.width, image.height, image.channels], [AVATAR_SIDE, AVATAR_SIDE, 4]);
  const alpha = image.data[(64 * AVATAR_SIDE + 64) * 4 + 3];
  assert.ok(Math.abs(alpha - 128) <= 2, `alpha ${alpha}`);
});

Deno.test("thumbnail() refuses, before decoding, an image that claims more pixels than an avatar may have", async () => {
  for (
    const bomb of [
      pngClaiming(30_000, 30_000),
      pngClaiming(5000, 100),
      pngClaiming(3500, 3500),
      jpegClaiming(65_000, 65_000),
      jpegClaiming(4000, 4000),
      webp("VP8X", [0, 0, 0, 0, 255, 255, 255, 255, 255, 255]),
    ]
  ) {
    const size = imageSize(bomb)!;
    assert.ok(size.width * size.height > MAX_PIXELS || size.width > 4096, "claims too much");
    assert.equal(await thumbnail(bomb), undefined);
  }
});

Deno.test("thumbnail() refuses what is not an image, what does not decode, and a WebP it cannot scale", async () => {
  const broken = makeJpeg(400, 400, ORANGE);
  broken.fill(0x55, 700);
  for (
    const bytes of [
      new TextEncoder().encode("<svg xmlns='http://www.w3.org/2000/svg'/>"),
      new Uint8Array(0),
      broken,
      webp("VP8X", [0, 0, 0, 0, 255, 1, 0, 255, 1, 0]), // 512 x 512
    ]
  ) assert.equal(await thumbnail(bytes), undefined);
});
