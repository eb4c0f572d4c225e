import { displayText, HANDLE_TEXT } from "@bsky/shared/display_text";
import { avatarUrl, initialsOf, placeholderClass } from "./profile.ts";

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
  size: 28 | 36;
}

/**
 * A person's avatar in a list, over their placeholder: two initials on a disc coloured from
 * their DID (a class of style.css: the Content-Security-Policy allows no inline style).
 * Where the avatar cannot be had, the site sends a transparent image, or the image fails:
 * the placeholder shows through, never a blank gap.
 */
export function Avatar({ p, size }: AvatarProps) {
  return (
    <span class={`avatar avatar-${size} ${placeholderClass(p.did)}`} aria-hidden="true">
      {initialsOf(p)}
      {p.avatar && <img src={avatarUrl(p.did)} alt="" width={size} height={size} loading="lazy" />}
    </span>
  );
}
