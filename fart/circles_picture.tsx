/**
 * The circles picture, drawn once for every place it is shown: the API's SVG document (and
 * through it the PNG) and the site's figure inline in its circles page are the same Preact
 * component, {@linkcode CirclesPicture}, given a layout (fart/circles.ts's circleLayout, or
 * the API's JSON answer of it). What differs is only where the picture goes: a document of
 * its own, or a page (`inPage`). Names and handles reach it only through
 * shared/display_text.ts, and every text is written with character references, so whatever
 * an account calls itself the SVG stays well-formed XML and its PNG renders.
 * @module
 */
import { renderToString } from "preact-render-to-string";
import { displayText, HANDLE_TEXT } from "@bsky/shared/display_text";
import { luminance, rgb } from "./colour.ts";
import { initialsOf, PLACEHOLDER_INK, placeholderColour } from "./placeholder.ts";
import { chars, type Named, personLabel } from "./picture_text.ts";

export { dateRange, type Named, personLabel } from "./picture_text.ts";

/** The name under an avatar, centred on its x: its text, baseline and font size. */
export interface PlacedName {
  text: string;
  y: number;
  size: number;
}

/** Someone placed in the picture: the centre of their avatar and its radius. */
export interface PicturePerson extends Named {
  x: number;
  y: number;
  r: number;
  name?: PlacedName;
}

/** Where everyone is: the square canvas's side, the owner in the middle, the rings. */
export interface PictureLayout<P extends PicturePerson = PicturePerson> {
  size: number;
  center: P;
  rings: { radius: number; people: P[] }[];
}

/** An avatar to draw, clipped to its disc. */
export interface AvatarImage {
  href: string;
  /**
   * Whether it may not be drawn (an address the viewer may fail to load, a WebP resvg
   * skips): the placeholder is then drawn under it rather than a plain disc.
   */
  mayFail: boolean;
}

/** Where the picture is shown inline: in an HTML page, labelled by a title the page names. */
export interface InPage {
  class: string;
  /** The id of the picture's <title>, which labels it. */
  labelId: string;
  /** Prefix of the avatars' clip-path ids, unique in the page. */
  idPrefix: string;
}

export interface PictureProps<P extends PicturePerson = PicturePerson> {
  layout: PictureLayout<P>;
  /** Background colour, "#rrggbb". */
  background: string;
  /** Colour of the avatar borders and ring guides, "#rrggbb". */
  border: string;
  /** The text alternative: whose circles, and who is in them. */
  label: string;
  /** Drawn at the top, e.g. "@alice.bsky.social". */
  title?: string;
  /** The date range, drawn at the bottom when given. */
  dates?: string;
  /** The site's address, written small at the bottom right (already checked: a host name). */
  credit?: string;
  /** Each person's avatar, or nothing for a placeholder. */
  avatar: (person: P) => AvatarImage | undefined;
  /** Shown inside a page; without it the picture is a document of its own. */
  inPage?: InPage;
}

const SVG_NS = "http://www.w3.org/2000/svg";
const FONT_FAMILY = "DejaVu Sans, Verdana, sans-serif";
/** Space at the edges, and the bands that hold the title, the date and the site's address. */
export const MARGIN = 12;
export const TITLE_BAND = 48;
export const DATE_BAND = 40;
export const CREDIT_BAND = 18;
/** The ring guides: thin lines in the border colour, faint. */
const GUIDE_OPACITY = 0.25;
const GUIDE_WIDTH = 1.5;
/** Under an avatar that will surely be drawn: no hole where it is transparent. */
const UNDER_AVATAR = "#8b949e";
const DARK_INK = "#1f2328";
const LIGHT_INK = "#ffffff";
const DATE_FONT = 15;
const CREDIT_FONT = 11;

/**
 * The circles: background, ring guides, each avatar clipped to a circle with a border (a
 * placeholder where there is none: two initials on a disc of the palette's colour for the
 * DID, fart/placeholder.ts, as the site's lists show them), the name under it when placed, and the title, date range and address. A
 * document of its own also carries its size, namespace and a <title> for each avatar.
 */
export function CirclesPicture<P extends PicturePerson>(props: PictureProps<P>) {
  const { layout, background, border, inPage } = props;
  // Both colours go into attributes as they are: anything but #rrggbb is refused.
  const ink = inkOn(background);
  rgb(border, "border");
  const { size, center } = layout;
  const title = displayText(props.title, HANDLE_TEXT);
  const below = props.credit ? CREDIT_BAND : 0;
  const everyone = [center, ...layout.rings.flatMap((ring) => ring.people)];
  const prefix = inPage?.idPrefix ?? "a";
  return (
    <svg
      xmlns={inPage ? undefined : SVG_NS}
      class={inPage?.class}
      width={inPage ? undefined : size}
      height={inPage ? undefined : size}
      viewBox={`0 0 ${size} ${size}`}
      role="img"
      aria-label={inPage ? undefined : props.label}
      aria-labelledby={inPage?.labelId}
      font-family={FONT_FAMILY}
    >
      {inPage
        ? <title id={inPage.labelId}>{props.label}</title>
        : <title {...chars(props.label)} />}
      <rect width={size} height={size} fill={background} />
      {layout.rings.map((ring, i) => (
        <circle
          key={i}
          cx={n(center.x)}
          cy={n(center.y)}
          r={n(ring.radius)}
          fill="none"
          stroke={border}
          stroke-opacity={GUIDE_OPACITY}
          stroke-width={GUIDE_WIDTH}
        />
      ))}
      {everyone.map((person, i) =>
        avatar({
          person,
          id: `${prefix}${i}`,
          image: props.avatar(person),
          border,
          ink,
          titled: !inPage,
        })
      )}
      {title && (
        <text
          x={size / 2}
          y={TITLE_BAND / 2 + 8}
          text-anchor="middle"
          font-size={titleFontSize(title, size)}
          fill={ink}
          {...chars(title)}
        />
      )}
      {props.credit && (
        <text
          class="credit"
          x={size - MARGIN}
          y={size - 6}
          text-anchor="end"
          font-size={CREDIT_FONT}
          fill={ink}
          fill-opacity={0.7}
          {...chars(props.credit)}
        />
      )}
      {props.dates && (
        <text
          x={size / 2}
          y={size - below - DATE_BAND / 2 + 5}
          text-anchor="middle"
          font-size={DATE_FONT}
          fill={ink}
          fill-opacity={0.8}
          {...chars(props.dates)}
        />
      )}
    </svg>
  );
}

/** The picture as an SVG document: the API's answer, and what its PNG is drawn from. */
export function pictureSvg<P extends PicturePerson>(
  props: Omit<PictureProps<P>, "inPage">,
): string {
  // Empty elements are closed in their tag, as XML allows: a smaller document.
  return renderToString(<CirclesPicture {...props} />).replace(OPEN_AND_SHUT, "/>");
}

const OPEN_AND_SHUT = /><\/(?:rect|circle|image)>/g;

interface AvatarProps {
  person: PicturePerson;
  id: string;
  image: AvatarImage | undefined;
  border: string;
  ink: string;
  /** Whether the avatar carries its own <title> (in a document of its own). */
  titled: boolean;
}

/** One person's avatar: a plain function, not a component, as it is called for everyone. */
function avatar({ person, id, image, border, ink, titled }: AvatarProps) {
  const { x, y, r, name } = person;
  const disc = { cx: n(x), cy: n(y), r: n(r) };
  // A fixed baseline offset rather than dominant-baseline, which renderers treat differently.
  const initials = initialsOf(person);
  // Two letters a little smaller than one, to fit the disc.
  const font = initials.length > 1 ? 0.78 : 0.9;
  const placeholder = [
    <circle key="disc" {...disc} fill={placeholderColour(person.did)} />,
    <text
      key="initials"
      x={n(x)}
      y={n(y + r * font * 0.36)}
      text-anchor="middle"
      font-size={n(r * font)}
      fill={PLACEHOLDER_INK}
      {...chars(initials)}
    />,
  ];
  return (
    <g key={person.did} data-did={person.did}>
      {titled && <title {...chars(personLabel(person))} />}
      {name && (
        <text
          class="avatar-name"
          x={n(x)}
          y={n(name.y)}
          text-anchor="middle"
          font-size={n(name.size)}
          fill={ink}
          {...chars(name.text)}
        />
      )}
      {image
        ? [
          <clipPath key="clip" id={id}>
            <circle {...disc} />
          </clipPath>,
          // Something under the picture, so that one that is transparent or not drawn leaves
          // no hole: the placeholder where it may not be drawn at all.
          image.mayFail ? placeholder : <circle key="under" {...disc} fill={UNDER_AVATAR} />,
          <image
            key="image"
            href={image.href}
            x={n(x - r)}
            y={n(y - r)}
            width={n(2 * r)}
            height={n(2 * r)}
            preserveAspectRatio="xMidYMid slice"
            clip-path={`url(#${id})`}
          />,
        ]
        : placeholder}
      <circle {...disc} fill="none" stroke={border} stroke-width={n(Math.max(1.5, r * 0.06))} />
    </g>
  );
}

/**
 * The title's font size: 22 units, smaller for a long handle so that it fits the width
 * (DejaVu Sans averages about 0.6 em a character), but never below 9.
 */
export function titleFontSize(title: string, size: number): number {
  const chars = [...title].length;
  return Math.round(Math.max(9, Math.min(22, (size - 2 * MARGIN) / (0.6 * chars))) * 10) / 10;
}

/** White or near-black text, whichever reads on the background (WCAG luminance). */
function inkOn(background: string): string {
  return luminance(rgb(background, "background")) > 0.5 ? DARK_INK : LIGHT_INK;
}

/** Two decimals are plenty at 600 units and keep the document small. */
function n(value: number): number {
  return Math.round(value * 100) / 100;
}
