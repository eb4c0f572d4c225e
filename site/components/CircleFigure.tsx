import { initialOf, placeholderColour, titleFontSize } from "@bsky/fart/circles";
import { displayText, HANDLE_TEXT } from "@bsky/shared/display_text";
import { avatarUrl } from "./profile.ts";
import type { CirclesAnswer, Placed } from "./circles.ts";
import type { CircleOptions } from "../options.ts";

/** White or near-black text, whichever reads on the background (WCAG luminance). */
function ink(hex: string): string {
  const [r, g, b] = [0, 2, 4].map((i) => {
    const v = parseInt(hex.slice(i, i + 2), 16) / 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.5 ? "#1f2328" : "#ffffff";
}

const n = (v: number) => Math.round(v * 100) / 100;

function Person({ p, id, border, ink }: { p: Placed; id: string; border: string; ink: string }) {
  return (
    <g data-did={p.did}>
      <clipPath id={id}>
        <circle cx={n(p.x)} cy={n(p.y)} r={n(p.r)} />
      </clipPath>
      <circle cx={n(p.x)} cy={n(p.y)} r={n(p.r)} fill={placeholderColour(p.did)} />
      <text
        x={n(p.x)}
        y={n(p.y + p.r * 0.32)}
        text-anchor="middle"
        font-size={n(p.r * 0.9)}
        fill="#ffffff"
      >
        {initialOf(p)}
      </text>
      {p.avatar && (
        <image
          href={avatarUrl(p.did)}
          x={n(p.x - p.r)}
          y={n(p.y - p.r)}
          width={n(2 * p.r)}
          height={n(2 * p.r)}
          preserveAspectRatio="xMidYMid slice"
          clip-path={`url(#${id})`}
        />
      )}
      <circle
        cx={n(p.x)}
        cy={n(p.y)}
        r={n(p.r)}
        fill="none"
        stroke={`#${border}`}
        stroke-width={n(Math.max(1.5, p.r * 0.06))}
      />
      {p.name && (
        <text
          class="avatar-name"
          x={n(p.x)}
          y={n(p.name.y)}
          text-anchor="middle"
          font-size={n(p.name.size)}
          fill={ink}
        >
          {p.name.text}
        </text>
      )}
    </g>
  );
}

interface Props {
  circles: CirclesAnswer;
  options: CircleOptions;
  alt: string;
  /** "2024-05-01 – 2024-05-31" */
  dates: string;
}

/**
 * The circles drawn inline from the API's layout, avatars through this site: the same
 * picture as the API's PNG, without embedding every avatar in the page.
 */
export function CircleFigure({ circles, options, alt, dates }: Props) {
  const { size, center } = circles;
  const text = ink(options.bg);
  const handle = displayText(circles.actor.handle, HANDLE_TEXT);
  const title = handle ? `@${handle}` : "";
  return (
    <svg
      class="circles"
      viewBox={`0 0 ${size} ${size}`}
      role="img"
      aria-labelledby="circles-alt"
      font-family="DejaVu Sans, Verdana, sans-serif"
    >
      <title id="circles-alt">{alt}</title>
      <rect width={size} height={size} fill={`#${options.bg}`} />
      {circles.rings.map((ring, i) => (
        <circle
          key={i}
          cx={n(center.x)}
          cy={n(center.y)}
          r={n(ring.radius)}
          fill="none"
          stroke={`#${options.border}`}
          stroke-opacity="0.25"
          stroke-width="1.5"
        />
      ))}
      <Person p={center} id="av0" border={options.border} ink={text} />
      {circles.rings.flatMap((ring, i) =>
        ring.people.map((p, k) => (
          <Person
            key={p.did}
            p={p}
            id={`av${i + 1}-${k}`}
            border={options.border}
            ink={text}
          />
        ))
      )}
      {title && (
        <text
          x={size / 2}
          y={32}
          text-anchor="middle"
          font-size={titleFontSize(title, size)}
          fill={text}
        >
          {title}
        </text>
      )}
      {options.date && (
        <text
          x={size / 2}
          y={size - 15}
          text-anchor="middle"
          font-size="15"
          fill={text}
          fill-opacity="0.8"
        >
          {dates}
        </text>
      )}
    </svg>
  );
}
