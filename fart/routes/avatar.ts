/** GET /v1/avatar/{did}: an account's avatar through the proxy. */
import { HttpError, withEtag } from "../http.ts";
import { actorRoute } from "../route.ts";

/** How long clients may keep an avatar. */
const AVATAR_SECONDS = 86400;

export const avatar = actorRoute({
  name: "avatar",
  path: "/v1/avatar/{did}",
  operationId: "getAvatar",
  summary: "An account's avatar through the proxy (JPEG, PNG or WebP)",
  answer: { type: "image/*" },
  async handler(ctx) {
    const { did } = ctx.params;
    const { identity, avatars } = ctx.services;
    const actor = await identity.actor(did);
    const cid = await avatars.cidOf(actor.id);
    if (!cid) throw new HttpError(404, `${did} has no avatar`);
    const image = await avatars.get(did, cid);
    if (!image) throw new HttpError(502, `The avatar of ${did} cannot be fetched now`);
    return await withEtag(ctx.req, image.bytes, image.type, AVATAR_SECONDS, {
      "content-security-policy": "default-src 'none'",
      "x-content-type-options": "nosniff",
    });
  },
});
