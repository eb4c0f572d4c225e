/**
 * Avatars cut down to what a circle needs before they are cached and embedded. The CDN's
 * thumbnails (128 px JPEGs) pass as they are; a PDS original can be anything its owner
 * uploaded, up to FART_AVATAR_MAX_BYTES: its size is read from the image header first, and
 * one that claims more pixels than an avatar can have (a decompression bomb) is refused
 * before anything is decoded. A larger one is decoded and scaled down by resvg (already the
 * PNG renderer, native and off the main thread), cropped to a centred square as the circles
 * show it, then encoded as a JPEG (jpeg-js), or as a PNG when it has transparency. One image
 * is scaled at a time, so memory stays bounded however many avatars are asked for at once.
 * @module
 */
import { Buffer } from "node:buffer";
import { renderAsync } from "@resvg/resvg-js";
import jpeg from "jpeg-js";

export interface Image {
  bytes: Uint8Array;
  type: "image/jpeg" | "image/png" | "image/webp";
}

/**
 * The side of a kept avatar, in pixels: the CDN thumbnail's. Every ring of a three-ring
 * circle needs at most about this much even at 1200 px; the owner in the middle is drawn
 * up from it there. Larger would slow every PNG: decoding 49 avatars is most of its time.
 */
export const AVATAR_SIDE = 128;
/** Largest width or height an avatar may claim. */
export const MAX_SIDE = 4096;
/** Largest number of pixels: 12 MP, a phone camera's photo (48 MB once decoded). */
export const MAX_PIXELS = 12_000_000;
const JPEG_QUALITY = 85;

/** The image type of some bytes by their signature, or undefined. */
export function sniffImage(b: Uint8Array): Image["type"] | undefined {
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return "image/jpeg";
  if (b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return "image/png";
  if (
    b[0] === 0x52 && b[1] === 0x49 && b[2] === 0x46 && b[3] === 0x46 && b[8] === 0x57 &&
    b[9] === 0x45 && b[10] === 0x42 && b[11] === 0x50
  ) return "image/webp";
  return undefined;
}

/** Width and height as the image's header gives them, or undefined when it cannot be read. */
export function imageSize(b: Uint8Array): { width: number; height: number } | undefined {
  const type = sniffImage(b);
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const size = (width: number, height: number) =>
    width > 0 && height > 0 ? { width, height } : undefined;
  try {
    if (type === "image/png") {
      // Signature, then the IHDR chunk: length, "IHDR", width, height.
      if (view.getUint32(12) !== 0x49484452) return undefined;
      return size(view.getUint32(16), view.getUint32(20));
    }
    if (type === "image/jpeg") return jpegSize(view);
    if (type === "image/webp") return webpSize(b, view);
  } catch {
    // A header cut short: a RangeError from the DataView.
  }
  return undefined;
}

/**
 * An avatar fit to embed: `bytes` as they are when no side is over AVATAR_SIDE, else a
 * centred square of AVATAR_SIDE pixels. Undefined for what is not a JPEG, PNG or WebP, an
 * unreadable header, more than MAX_SIDE or MAX_PIXELS, a WebP to scale (resvg has no WebP
 * decoder), or an image that does not decode.
 */
export async function thumbnail(bytes: Uint8Array): Promise<Image | undefined> {
  const type = sniffImage(bytes);
  const size = type && imageSize(bytes);
  if (!type || !size) return undefined;
  const { width, height } = size;
  if (width > MAX_SIDE || height > MAX_SIDE || width * height > MAX_PIXELS) return undefined;
  if (width <= AVATAR_SIDE && height <= AVATAR_SIDE) return { bytes, type };
  if (type === "image/webp") return undefined;
  return await oneAtATime(() => scale(bytes, type, Math.min(AVATAR_SIDE, width, height)));
}

async function scale(bytes: Uint8Array, type: string, side: number): Promise<Image | undefined> {
  const href = `data:${type};base64,${Buffer.from(bytes).toString("base64")}`;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${side}" height="${side}">` +
    `<image href="${href}" width="${side}" height="${side}" ` +
    `preserveAspectRatio="xMidYMid slice"/></svg>`;
  let rendered;
  try {
    rendered = await renderAsync(svg, { fitTo: { mode: "original" } });
  } catch {
    return undefined;
  }
  const pixels = rendered.pixels;
  let opaque = true, drawn = false;
  for (let i = 3; i < pixels.length; i += 4) {
    if (pixels[i] !== 255) opaque = false;
    if (pixels[i] !== 0) drawn = true;
  }
  // resvg draws nothing for an image it cannot decode.
  if (!drawn) return undefined;
  if (!opaque) return { bytes: new Uint8Array(rendered.asPng()), type: "image/png" };
  const encoded = jpeg.encode({ width: side, height: side, data: pixels }, JPEG_QUALITY);
  return { bytes: new Uint8Array(encoded.data), type: "image/jpeg" };
}

let queue: Promise<unknown> = Promise.resolve();

/** Runs `work` after every earlier one has finished. */
function oneAtATime<T>(work: () => Promise<T>): Promise<T> {
  const run = queue.then(work, work);
  queue = run.catch(() => {});
  return run;
}

/** The frame header (SOF0–SOF15 but DHT, JPG, DAC) of a JPEG, found by walking the markers. */
function jpegSize(view: DataView): { width: number; height: number } | undefined {
  let at = 2;
  while (at + 4 <= view.byteLength) {
    if (view.getUint8(at) !== 0xff) return undefined;
    const marker = view.getUint8(at + 1);
    if (marker === 0xff) { // fill byte
      at++;
      continue;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) { // no length
      at += 2;
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) return undefined; // end, or scan data before a frame
    const length = view.getUint16(at + 2);
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      const height = view.getUint16(at + 5), width = view.getUint16(at + 7);
      return width > 0 && height > 0 ? { width, height } : undefined;
    }
    if (length < 2) return undefined;
    at += 2 + length;
  }
  return undefined;
}

/** The canvas of a WebP: its VP8X, VP8L or VP8 chunk. */
function webpSize(b: Uint8Array, view: DataView): { width: number; height: number } | undefined {
  const chunk = String.fromCharCode(b[12], b[13], b[14], b[15]);
  if (chunk === "VP8X") {
    const w = view.getUint16(24, true) + (b[26] << 16) + 1;
    const h = view.getUint16(27, true) + (b[29] << 16) + 1;
    return { width: w, height: h };
  }
  if (chunk === "VP8L") {
    if (b[20] !== 0x2f) return undefined;
    const bits = view.getUint32(21, true);
    return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
  }
  if (chunk === "VP8 ") {
    // Frame tag (3 bytes), start code 9d 01 2a, then 14-bit width and height.
    if (b[23] !== 0x9d || b[24] !== 0x01 || b[25] !== 0x2a) return undefined;
    const width = view.getUint16(26, true) & 0x3fff, height = view.getUint16(28, true) & 0x3fff;
    return width > 0 && height > 0 ? { width, height } : undefined;
  }
  return undefined;
}
