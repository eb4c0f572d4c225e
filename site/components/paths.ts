/** Paths of the site's pages, for the server and the islands alike (no imports). */
/**
 * The site's path of an account's circles (`/c/alice.bsky.social`, `/c/did:plc:…`): the handle
 * or DID encoded as a path segment, its colons left as they are (a colon is allowed there, and
 * a DID reads as it is written; a did:web's own `%3A` stays encoded, as `%253A`).
 */
export const circlesPath = (actor: string) =>
  `/c/${encodeURIComponent(actor).replaceAll("%3A", ":")}`;
