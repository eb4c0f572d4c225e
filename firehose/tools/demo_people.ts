/**
 * The people of a recorded capture: realistic display names and handles, and an avatar for
 * each, drawn here (a gradient, a shape and the person's initials) and rendered to a 128 px
 * JPEG with the project's own image tools (resvg, jpeg-js), the size of the CDN's
 * thumbnails. Everything is derived from the person's index, so a recording asks the same.
 * @module
 */
import { Buffer } from "node:buffer";
import { Resvg } from "@resvg/resvg-js";
import jpeg from "jpeg-js";
import { hslHex as hsl } from "@bsky/fart/colour";
import { FONT_PATH } from "@bsky/fart/png";

/** Side of an avatar, in pixels: the CDN's thumbnail size. */
export const AVATAR_SIDE = 128;

const FIRST = [
  "Maya",
  "Jonas",
  "Aiko",
  "Rafael",
  "Priya",
  "Tom",
  "Lucía",
  "Kwame",
  "Sofia",
  "Ben",
  "Inês",
  "Oliver",
  "Hana",
  "Mateus",
  "Chloé",
  "Daniel",
  "Amara",
  "Lars",
  "Yara",
  "Noah",
  "Beatriz",
  "Ethan",
  "Mei",
  "Gabriel",
];
const LAST = [
  "Costa",
  "Weber",
  "Tanaka",
  "Lima",
  "Natarajan",
  "Becker",
  "Fernández",
  "Mensah",
  "Rossi",
  "Carter",
  "Duarte",
  "Hughes",
  "Kim",
  "Oliveira",
  "Martin",
  "Park",
  "Obi",
  "Nilsson",
  "Haddad",
  "Fischer",
  "Santos",
  "Cole",
  "Chen",
  "Alves",
];
/** What a handle changed later in the recording ends with. */
const HANDLE_SUFFIXES = ["art", "dev", "photo", "music"];

export interface DemoPerson {
  displayName: string;
  /** The part before the PDS's domain: 3 to 18 letters, digits and hyphens. */
  handle: string;
  initials: string;
  /** Whether the person sets an avatar (a few do not, as on the network). */
  hasAvatar: boolean;
}

/** Letters only, without accents, in lower case: "Lucía" becomes "lucia". */
const ascii = (s: string) => s.normalize("NFD").replace(/[^A-Za-z]/g, "").toLowerCase();

/** The `i`-th person: the first 24 are distinct people, later ones distinct pairings. */
export function demoPerson(i: number): DemoPerson {
  const n = FIRST.length;
  const first = FIRST[i % n];
  const last = LAST[(i + Math.floor(i / n) * 7) % n];
  const round = Math.floor(i / n);
  let handle = ascii(first) + ascii(last);
  if (handle.length > 15) handle = `${ascii(first)}-${ascii(last)[0]}`;
  if (round > 0) handle = `${handle.slice(0, 15)}${round}`;
  return {
    displayName: `${first} ${last}`,
    handle,
    initials: (ascii(first)[0] + ascii(last)[0]).toUpperCase(),
    // Two people in every 24 keep the default avatar.
    hasAvatar: i % 12 !== 7,
  };
}

/** The handle a person moves to when they change it, the `n`-th change of the recording. */
export function changedHandle(handle: string, n: number): string {
  const base = handle.split(".")[0].replace(/\d+$/, "");
  return `${base.slice(0, 12)}-${HANDLE_SUFFIXES[n % HANDLE_SUFFIXES.length]}`;
}

/** The avatar's drawing: two hues and a shape picked from the index, then the initials. */
export function avatarSvg(i: number, initials: string): string {
  const hue = (i * 137.5) % 360;
  const hue2 = (hue + 40 + (i % 5) * 18) % 360;
  const s = AVATAR_SIDE;
  const shapes = [
    `<circle cx="${s * 0.78}" cy="${s * 0.22}" r="${
      s * 0.34
    }" fill="#ffffff" fill-opacity="0.22"/>`,
    `<path d="M0 ${s * 0.78} L${s * 0.42} ${s * 0.38} L${s * 0.7} ${s * 0.66} L${s} ${
      s * 0.3
    } L${s} ${s} L0 ${s} Z" fill="#000000" fill-opacity="0.2"/>`,
    `<path d="M${-s * 0.2} ${s * 0.3} L${s * 0.3} ${-s * 0.2} L${s * 0.55} 0 L0 ${s * 0.55} Z M${
      s * 0.45
    } ${s * 1.2} L${s * 1.2} ${s * 0.45} L${s * 1.2} ${s * 0.75} L${s * 0.75} ${
      s * 1.2
    } Z" fill="#ffffff" fill-opacity="0.18"/>`,
    `<circle cx="${s / 2}" cy="${s / 2}" r="${s * 0.46}" fill="none" stroke="#ffffff" ` +
    `stroke-opacity="0.25" stroke-width="${s * 0.06}"/><circle cx="${s / 2}" cy="${s / 2}" ` +
    `r="${s * 0.33}" fill="none" stroke="#ffffff" stroke-opacity="0.15" stroke-width="${
      s * 0.04
    }"/>`,
  ];
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${s}" height="${s}" ` +
    `viewBox="0 0 ${s} ${s}"><defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1">` +
    `<stop offset="0" stop-color="${hsl(hue, 0.62, 0.52)}"/>` +
    `<stop offset="1" stop-color="${hsl(hue2, 0.68, 0.32)}"/></linearGradient></defs>` +
    `<rect width="${s}" height="${s}" fill="url(#g)"/>${shapes[i % shapes.length]}` +
    `<text x="${s / 2}" y="${s * 0.64}" text-anchor="middle" font-family="DejaVu Sans" ` +
    `font-size="${s * 0.4}" fill="#ffffff">${initials}</text></svg>`;
}

/** The `i`-th person's avatar as a 128 px JPEG. */
export function avatarJpeg(i: number, initials: string): Uint8Array<ArrayBuffer> {
  const rendered = new Resvg(avatarSvg(i, initials), {
    fitTo: { mode: "width", value: AVATAR_SIDE },
    font: {
      fontFiles: [FONT_PATH],
      defaultFontFamily: "DejaVu Sans",
      loadSystemFonts: false,
    },
  }).render();
  const encoded = jpeg.encode(
    { width: rendered.width, height: rendered.height, data: Buffer.from(rendered.pixels) },
    88,
  );
  return new Uint8Array(encoded.data);
}
