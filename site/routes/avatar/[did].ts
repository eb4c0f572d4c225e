import { ApiError } from "../../api.ts";
import type { Handlers } from "../../server/types.ts";

const DID = /^did:[a-z]+:[a-zA-Z0-9._:%-]{1,2000}$/;

/**
 * What the browser gets when the API has no avatar to give (none set, not fetchable now,
 * account hidden, API down): a transparent image, so the coloured initial drawn beneath it
 * shows instead of a broken-image icon. Kept briefly: the avatar may come back.
 */
const PLACEHOLDER = '<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>';

/** Avatars through the API's avatar proxy, so the browser asks no other origin. */
export const handler: Handlers = {
  async GET(req, ctx) {
    const did = ctx.params.did;
    if (!DID.test(did)) return new Response("Not a DID", { status: 400 });
    try {
      return await ctx.api.image(`/v1/avatar/${encodeURIComponent(did)}`, req);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      return new Response(PLACEHOLDER, {
        headers: {
          "content-type": "image/svg+xml",
          "cache-control": "public, max-age=300",
          "x-content-type-options": "nosniff",
          "x-avatar": "placeholder",
        },
      });
    }
  },
};
