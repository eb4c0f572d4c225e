/**
 * PNG rendering of the circles SVG with resvg's native Node-API build (npm
 * @resvg/resvg-js): several times faster than its WebAssembly build, and it needs no
 * system fonts.
 *
 * Permissions: `--allow-ffi=node_modules` and `--allow-read=node_modules` for the addon,
 * and `--allow-sys=cpus,networkInterfaces,hostname` for its loader's process report.
 * The addon reads the font (fart/assets) itself, as native code does, outside Deno's
 * permission checks; nothing else is read, written or fetched.
 * @module
 */

import { Resvg } from "@resvg/resvg-js";
import { fileURLToPath } from "node:url";

/** DejaVu Sans, subset to Latin, Greek and Cyrillic; licence beside it. */
export const FONT_PATH: string = fileURLToPath(
  new URL("./assets/DejaVuSans-subset.ttf", import.meta.url),
);

/** The font's family name, as the SVG's font-family lists it first. */
const FONT_FAMILY = "DejaVu Sans";
const MAX_WIDTH = 4096;

/**
 * Renders an SVG (from renderCirclesSvg) to a PNG `width` pixels wide; the circles SVG is
 * square, so the PNG is width x width. The API offers 600 and 1200.
 */
export function renderPng(svg: string, width: number): Promise<Uint8Array> {
  if (!Number.isInteger(width) || width < 1 || width > MAX_WIDTH) {
    return Promise.reject(
      new RangeError(`Invalid PNG width: "${width}" is not an integer from 1 to ${MAX_WIDTH}`),
    );
  }
  const resvg = new Resvg(svg, {
    fitTo: { mode: "width", value: width },
    font: {
      fontFiles: [FONT_PATH],
      defaultFontFamily: FONT_FAMILY,
      sansSerifFamily: FONT_FAMILY,
      loadSystemFonts: false,
    },
  });
  return Promise.resolve(new Uint8Array(resvg.render().asPng()));
}
