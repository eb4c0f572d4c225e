/**
 * Colours as the pictures write them: "#rrggbb" (resvg reads hex colours everywhere, even
 * in gradients' stops), made from HSL, read back checked, and compared by WCAG's relative
 * luminance and contrast ratio.
 * @module
 */

/** Red, green and blue, each 0 to 255. */
export type Rgb = [number, number, number];

/** An HSL colour (hue in degrees, saturation and lightness 0 to 1) as channels 0 to 255. */
export function hslRgb(h: number, s: number, l: number): Rgb {
  const a = s * Math.min(l, 1 - l);
  const channel = (k: number) => {
    const t = (k + h / 30) % 12;
    return Math.round((l - a * Math.max(-1, Math.min(t - 3, 9 - t, 1))) * 255);
  };
  return [channel(0), channel(8), channel(4)];
}

/** An HSL colour as "#rrggbb". */
export function hslHex(h: number, s: number, l: number): string {
  return hex(hslRgb(h, s, l));
}

/** Channels as "#rrggbb". */
export function hex(rgb: Rgb): string {
  return `#${rgb.map((v) => v.toString(16).padStart(2, "0")).join("")}`;
}

/** "#rrggbb" as channels; anything else is refused, as it would go into attributes. */
export function rgb(colour: string, name: string): Rgb {
  const match = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(colour);
  if (!match) {
    throw new RangeError(`Invalid ${name} colour: "${colour}" is not of the form #rrggbb`);
  }
  return [parseInt(match[1], 16), parseInt(match[2], 16), parseInt(match[3], 16)];
}

/** WCAG relative luminance, 0 (black) to 1 (white). */
export function luminance([r, g, b]: Rgb): number {
  const lin = (c: number) => {
    const v = c / 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

/** WCAG contrast ratio of two colours, 1 to 21. */
export function contrast(a: Rgb, b: Rgb): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}
