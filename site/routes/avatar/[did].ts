import type { Handlers } from "../../server/types.ts";

const DID = /^did:[a-z]+:[a-zA-Z0-9._:%-]{1,2000}$/;

/** Avatars through the API's avatar proxy, so the browser asks no other origin. */
export const handler: Handlers = {
  GET(req, ctx) {
    const did = ctx.params.did;
    if (!DID.test(did)) return new Response("Not a DID", { status: 400 });
    return ctx.api.image(`/v1/avatar/${encodeURIComponent(did)}`, req);
  },
};
