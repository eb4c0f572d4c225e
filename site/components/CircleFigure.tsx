import { CirclesPicture } from "@bsky/fart/circles_picture";
import { displayText, HANDLE_TEXT } from "@bsky/shared/display_text";
import { avatarUrl } from "./profile.ts";
import type { CirclesAnswer, Placed } from "./circles.ts";
import type { CircleOptions } from "../options.ts";

interface Props {
  circles: CirclesAnswer;
  options: CircleOptions;
  alt: string;
  /** "2024-05-01 – 2024-05-31" */
  dates: string;
}

/** The picture's place in the page: its class, and the id of the title that labels it. */
const IN_PAGE = { class: "circles", labelId: "circles-alt", idPrefix: "av" };

/**
 * The circles drawn inline from the API's layout by the component that draws the API's
 * images, avatars through this site: the same picture as the API's PNG, without embedding
 * every avatar in the page. An avatar that fails to load leaves its placeholder showing.
 */
export function CircleFigure({ circles, options, alt, dates }: Props) {
  const handle = displayText(circles.actor.handle, HANDLE_TEXT);
  return (
    <CirclesPicture<Placed>
      layout={circles}
      background={`#${options.bg}`}
      border={`#${options.border}`}
      label={alt}
      title={handle ? `@${handle}` : undefined}
      dates={options.date ? dates : undefined}
      avatar={(p) => p.avatar ? { href: avatarUrl(p.did), mayFail: true } : undefined}
      inPage={IN_PAGE}
    />
  );
}
