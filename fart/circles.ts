/**
 * "Interaction circles": the owner in the middle and the people they interact with most on
 * rings around them. Here the layout, pure functions; the picture is drawn by
 * circles_picture.tsx (the site draws its figure with the same component), fetching avatars
 * and rendering PNGs happen elsewhere (see png.ts). Names and handles reach the document only
 * through shared/display_text.ts, so whatever an account calls itself, the SVG stays
 * well-formed XML and its PNG renders.
 * @module
 */
import { displayText, HANDLE_TEXT } from "@bsky/shared/display_text";
import {
  type AvatarImage,
  CREDIT_BAND,
  DATE_BAND,
  dateRange,
  MARGIN,
  type Named,
  personLabel,
  pictureSvg,
  type PlacedName,
  TITLE_BAND,
} from "./circles_picture.tsx";

export {
  dateRange,
  type Named,
  personLabel,
  type PlacedName,
  titleFontSize,
} from "./circles_picture.tsx";
export { initialsOf, placeholderColour } from "./placeholder.ts";

export interface CirclePerson {
  did: string;
  handle?: string;
  displayName?: string;
  score: number;
}

export interface CircleOptions {
  /** How many rings to draw. */
  rings: 1 | 2 | 3;
  /** People per ring, inner to outer. */
  ringSizes: "8-15-26" | "10-20-30";
  /** Background colour, "#rrggbb". */
  background: string;
  /** Colour of the avatar borders and ring guides, "#rrggbb". */
  border: string;
  /** Whether to draw the date range (from/to) at the bottom. */
  showDate: boolean;
  /** Whether to write each person's name under their avatar. */
  names?: boolean;
  /** The address of the site showing the image, written small at the bottom right. */
  credit?: string;
  from: Date;
  to: Date;
  /** Drawn at the top, e.g. "@alice.bsky.social". */
  title?: string;
}

export interface PlacedPerson extends CirclePerson {
  ring: number;
  x: number;
  y: number;
  r: number;
  /** The name under the avatar, centred on x: its text, baseline and font size. */
  name?: PlacedName;
}

export interface CircleLayout {
  /** Side of the square canvas in SVG units. */
  size: number;
  /** The owner, ring 0, in the middle. */
  center: PlacedPerson;
  rings: { radius: number; people: PlacedPerson[] }[];
}

/** Avatar images by DID: bytes and MIME type ("image/jpeg" | "image/png" | "image/webp"). */
export type Avatars = Map<string, { bytes: Uint8Array; type: string }>;

const SIZE = 600;
const RING_SIZES = { "8-15-26": [8, 15, 26], "10-20-30": [10, 20, 30] } as const;
/** Avatar radius of each ring relative to the owner's: the rings matter less outward. */
const SHRINK = [1, 0.62, 0.5, 0.4];
/** Gap between neighbouring avatars, as a fraction of the owner's radius. */
const GAP = 0.1;
/** The reach, in owner radii, that an owner with nobody around is drawn within. */
const LONE_REACH = 2.4;
/** Height of the band under an avatar that holds its name, as a fraction of its radius. */
const NAME_BAND = 0.5;
/** A name's font size, as a fraction of its band's height. */
const NAME_FONT = 0.75;
/** The smallest name worth writing, in SVG units: smaller ones are left out. */
const MIN_NAME_FONT = 6;
/** A name is at most this many avatar radii wide. */
const NAME_WIDTH = 3;
/** DejaVu Sans averages about 0.6 em a character. */
const EM_PER_CHAR = 0.6;
/** Raster types only: an embedded SVG could carry scripts into pages that inline ours. */
const EMBEDDABLE = new Set(["image/jpeg", "image/png", "image/webp"]);

/**
 * Places the owner in the middle and the ranked people (best first) on the rings, inner ring
 * first. Only rings that have people are drawn, and a ring's people are spread evenly around
 * the whole ring, however few they are; the drawn rings fill the canvas, so avatars are sized
 * to the rings there are rather than to empty slots. Avatar radius shrinks ring by ring. The
 * owner is skipped if it also appears among the ranked people.
 */
export function circleLayout(
  owner: CirclePerson,
  ranked: CirclePerson[],
  options: CircleOptions,
): CircleLayout {
  const capacity = ringCounts(options);
  const top = displayText(options.title, HANDLE_TEXT) ? TITLE_BAND : MARGIN;
  const bottom = (options.showDate ? DATE_BAND : MARGIN) + (credit(options) ? CREDIT_BAND : 0);
  const extent = (SIZE - top - bottom) / 2;
  const cx = SIZE / 2;
  const cy = top + extent;

  const people = ranked.filter((p) => p.did !== owner.did);
  const groups: CirclePerson[][] = [];
  let next = 0;
  for (const count of capacity) {
    const group = people.slice(next, next + count);
    if (group.length === 0) break;
    groups.push(group);
    next += count;
  }

  // Sizes in units of the owner's radius, then scaled so the outer ring touches the edge:
  // each ring sits just outside the previous one, or further out if its avatars need room.
  const unitRadii: number[] = [];
  let reach = SHRINK[0];
  // With names, each avatar takes a band under it: rings keep it clear on both sides (the
  // names of the top avatars point inward), and neighbours keep it clear between them.
  const band = (i: number) => options.names ? NAME_BAND * SHRINK[i + 1] : 0;
  groups.forEach((group, i) => {
    const r = SHRINK[i + 1];
    const half = r + band(i);
    const around = group.length > 1
      ? (r + band(i) / 2 + GAP / 2) / Math.sin(Math.PI / group.length)
      : 0;
    const radius = Math.max(reach + GAP + half, around);
    unitRadii.push(radius);
    reach = radius + half;
  });
  // The owner alone is drawn as large as with one small ring around them, not canvas-wide.
  const scale = extent / Math.max(reach, LONE_REACH);

  const rings = groups.map((group, i) => {
    const radius = unitRadii[i] * scale;
    const r = SHRINK[i + 1] * scale;
    // Odd rings turn by half a step so avatars do not line up in spokes.
    const offset = -Math.PI / 2 + (i % 2) * Math.PI / group.length;
    // A name fits inside the ring's band, whose edges the rings inside and outside keep
    // clear of, and between the neighbours on its own ring, their avatars and their names.
    const label = band(i) * scale;
    // What lies inside and outside this ring's band: the next band in each direction (a gap
    // away), or for the outermost ring the square the picture is drawn in.
    const inner = radius - r - label - GAP * scale, outer = radius + r + label + GAP * scale;
    const outermost = i === groups.length - 1;
    const size = label * NAME_FONT;
    const spots = group.map((_, slot) => {
      const angle = offset + (2 * Math.PI * slot) / group.length;
      return { x: cx + radius * Math.cos(angle), y: cy + radius * Math.sin(angle) };
    });
    /** The widest name under the avatar at `slot`, in SVG units. */
    const nameWidth = (slot: number) => {
      const { x, y } = spots[slot];
      const dx = x - cx, top = y + r - cy, bottom = top + label;
      const near = top < 0 && bottom > 0 ? 0 : Math.min(Math.abs(top), Math.abs(bottom));
      const far = Math.max(Math.abs(top), Math.abs(bottom));
      let half = Math.min(
        NAME_WIDTH * r / 2,
        outermost
          ? extent - Math.abs(dx)
          : Math.sqrt(Math.max(0, outer ** 2 - far ** 2)) - Math.abs(dx),
      );
      if (near < inner) half = Math.min(half, Math.abs(dx) - Math.sqrt(inner ** 2 - near ** 2));
      for (const k of new Set([slot - 1, slot + 1].map((j) => (j + group.length) % group.length))) {
        if (k === slot) continue;
        const ndx = Math.abs(spots[k].x - x), ndy = spots[k].y - y;
        // Their avatar, where it comes level with the name.
        const level = Math.min(Math.max(ndy, r), r + label);
        if (Math.abs(level - ndy) < r) {
          half = Math.min(half, ndx - Math.sqrt(r ** 2 - (level - ndy) ** 2) - GAP * scale / 2);
        }
        // Their name, when it is level with this one: each keeps to its half of the way.
        if (Math.abs(ndy) < label) half = Math.min(half, ndx / 2 - GAP * scale / 4);
      }
      return 2 * half;
    };
    const placed = group.map((person, slot): PlacedPerson => {
      const { x, y } = spots[slot];
      const chars = nameWidth(slot) / (EM_PER_CHAR * size);
      const text = size >= MIN_NAME_FONT ? nameText(person, chars) : "";
      return {
        ...person,
        ring: i + 1,
        x,
        y,
        r,
        ...(text ? { name: { text, y: y + r + size, size } } : {}),
      };
    });
    return { radius, people: placed };
  });

  return { size: SIZE, center: { ...owner, ring: 0, x: cx, y: cy, r: SHRINK[0] * scale }, rings };
}

/**
 * What is written under an avatar: the display name, else the handle's first label, cut
 * with "…" to at most `chars` characters; "" when not even two fit.
 */
export function nameText(person: Named, chars: number): string {
  const most = Math.floor(chars);
  if (most < 2) return "";
  const handle = displayText(person.handle, HANDLE_TEXT).split(".")[0];
  return displayText(displayText(person.displayName) || handle, { maxGraphemes: most });
}

/**
 * The SVG document: background, optional title and date range, each avatar clipped to a
 * circle with a border, avatars embedded as data: URIs, a <title> and aria-label listing the
 * people, all text XML-escaped. Missing avatars get a placeholder: two initials on a disc
 * coloured from the DID.
 */
export function renderCirclesSvg(
  layout: CircleLayout,
  avatars: Avatars,
  options: CircleOptions,
): string {
  return pictureSvg({
    layout,
    background: options.background,
    border: options.border,
    label: accessibleLabel(layout),
    title: options.title,
    dates: options.showDate ? dateRange(options.from, options.to) : undefined,
    credit: credit(options),
    avatar: (person) => embedded(avatars.get(person.did)),
  });
}

/** What a site's address may be to be written on an image: a host name, and a port. */
export const CREDIT = /^[a-z0-9.-]{1,64}(:\d{1,5})?$/;

/** The site's address as it may be written, else nothing. */
function credit(options: CircleOptions): string {
  const host = options.credit ?? "";
  return CREDIT.test(host) ? host : "";
}

/** An avatar as a data: URI, if it is a raster image. */
function embedded(
  avatar: { bytes: Uint8Array; type: string } | undefined,
): AvatarImage | undefined {
  if (!avatar || !EMBEDDABLE.has(avatar.type)) return undefined;
  return {
    href: `data:${avatar.type};base64,${avatar.bytes.toBase64()}`,
    // resvg-wasm 2.6 skips WebP, so a WebP avatar shows as the placeholder in PNGs.
    mayFail: avatar.type === "image/webp",
  };
}

function accessibleLabel(layout: CircleLayout): string {
  const rings = layout.rings
    .filter((ring) => ring.people.length > 0)
    .map((ring, i) => `Ring ${i + 1}: ${ring.people.map(personLabel).join(", ")}.`);
  return [`Interaction circles of ${personLabel(layout.center)}.`, ...rings].join(" ");
}

function ringCounts(options: CircleOptions): number[] {
  const sizes = RING_SIZES[options.ringSizes];
  if (!sizes) throw new RangeError(`Unknown ring sizes: "${options.ringSizes}"`);
  if (![1, 2, 3].includes(options.rings)) {
    throw new RangeError(`Invalid ring count: "${options.rings}" is not 1, 2 or 3`);
  }
  return sizes.slice(0, options.rings);
}
