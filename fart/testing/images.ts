/**
 * Test images made on the spot: solid or noisy JPEGs (jpeg-js) and PNGs (fast-png) of any
 * size, and the CID a PDS would give each as a blob.
 */
import { CODEC_RAW, create, toString } from "@atcute/cid";
import { encode as encodePng } from "fast-png";
import jpeg from "jpeg-js";

export type Rgb = [number, number, number];

/**
 * A `width` x `height` JPEG of one colour, with `noise` (0–255) of random speckle on each
 * channel: noise makes the file as large as a photo of the same size.
 */
export function makeJpeg(width: number, height: number, [r, g, b]: Rgb, noise = 0, quality = 85) {
  const data = new Uint8ClampedArray(width * height * 4);
  let seed = width * 31 + height * 17 + r + g * 3 + b * 7 + noise;
  const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff - 0.5);
  for (let i = 0; i < data.length; i += 4) {
    data[i] = r + random() * noise;
    data[i + 1] = g + random() * noise;
    data[i + 2] = b + random() * noise;
    data[i + 3] = 255;
  }
  return new Uint8Array(jpeg.encode({ width, height, data }, quality).data);
}

/** A PNG of one colour; with `alpha` below 255 it is see-through. */
export function makePng(width: number, height: number, [r, g, b]: Rgb, alpha = 255): Uint8Array {
  const data = new Uint8Array(width * height * 4);
  for (let i = 0; i < data.length; i += 4) data.set([r, g, b, alpha], i);
  return encodePng({ width, height, data, channels: 4 });
}

/** The blob CID of some bytes: CIDv1, raw, SHA-256. */
export async function blobCid(bytes: Uint8Array): Promise<string> {
  return toString(await create(CODEC_RAW, bytes));
}

/** The colour at the middle of a JPEG or an RGBA PNG's pixels. */
export function middle(image: { width: number; height: number; data: Uint8Array }): Rgb {
  const channels = image.data.length / (image.width * image.height);
  const i = (Math.floor(image.height / 2) * image.width + Math.floor(image.width / 2)) * channels;
  return [image.data[i], image.data[i + 1], image.data[i + 2]];
}

/** Whether two colours are within `tolerance` on every channel. */
export function near(a: Rgb, b: Rgb, tolerance = 16): boolean {
  return a.every((v, i) => Math.abs(v - b[i]) <= tolerance);
}
