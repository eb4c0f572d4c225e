import { displayText, HANDLE_TEXT } from "@bsky/shared/display_text";

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
