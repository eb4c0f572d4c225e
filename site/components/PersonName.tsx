import { displayText, HANDLE_TEXT } from "@bsky/shared/display_text";
import { avatarUrl, initialsOf, placeholderColour } from "./profile.ts";

interface Props {
  p: { did: string; handle?: string | null; displayName?: string | null };
}

/**
 * A person's display name, when there is one, above their handle (or DID), as lists and
 * tables print them: both through displayText, the name in its own bidi isolate.
 */
export function PersonName({ p }: Props) {
  const name = displayText(p.displayName);
  const handle = displayText(p.handle, HANDLE_TEXT);
  return (
    <>
      {name && <bdi class="name">{name}</bdi>}
      <span class="handle">{handle ? `@${handle}` : p.did}</span>
    </>
  );
}

interface AvatarProps {
  p: Props["p"] & { avatar?: string | null };
  size: number;
}

/**
 * A person's avatar in a list, over their placeholder: two initials on a disc coloured from
 * their DID (drawn as SVG attributes, which the Content-Security-Policy allows, unlike
 * inline styles). Where the avatar cannot be had, the site sends a transparent image, or
 * the image fails: the placeholder shows through, never a blank gap.
 */
export function Avatar({ p, size }: AvatarProps) {
  const initials = initialsOf(p);
  return (
    <span class="avatar" data-initials={initials}>
      <svg class="avatar-ph" width={size} height={size} viewBox="0 0 40 40" aria-hidden="true">
        <circle cx="20" cy="20" r="20" fill={placeholderColour(p.did)} />
        <text
          x="20"
          y="20"
          dy="0.35em"
          text-anchor="middle"
          font-size={initials.length > 1 ? 16 : 19}
          font-weight="600"
          fill="#ffffff"
        >
          {initials}
        </text>
      </svg>
      {p.avatar && <img src={avatarUrl(p.did)} alt="" width={size} height={size} loading="lazy" />}
    </span>
  );
}
