import { CREDIT } from "@bsky/fart/circles";
import { ApiError } from "../../api.ts";
import {
  apiCirclesQuery,
  cleanActor,
  DEFAULT_OPTIONS,
  invalidOptions,
  isActor,
  parseOptions,
} from "../../options.ts";
import type { Handlers } from "../../server/types.ts";

/**
 * The circles image drawn by the API (`/img/alice.bsky.social.png?rings=2…`): the PNG for
 * Download, Copy and the share card, the SVG as well. Only known options go through.
 */
/** The circles' options and the PNG's width: nothing else is taken. */
export const query = [...Object.keys(DEFAULT_OPTIONS), "width"];

export const handler: Handlers = {
  GET(req, ctx) {
    const m = ctx.params.file.match(/^(.+)\.(png|svg)$/);
    if (!m) return new Response("Not found", { status: 404 });
    const actor = cleanActor(m[1]);
    if (!isActor(actor)) throw new ApiError("bad_request", 400, `Not a handle or DID: "${actor}"`);
    const width = ctx.url.searchParams.get("width");
    const bad = [
      ...invalidOptions(ctx.url.searchParams),
      ...(width && width !== "600" && width !== "1200" ? ["width"] : []),
    ];
    if (bad.length) {
      throw new ApiError("bad_request", 400, `Not valid: ${bad.join(", ")}`, { fields: bad });
    }
    const options = parseOptions(ctx.url.searchParams);
    const extra: Record<string, string> = {};
    if (m[2] === "png") {
      extra.width = ctx.url.searchParams.get("width") === "600" ? "600" : "1200";
      // A PNG travels on its own: it carries the address of the site it comes from.
      const host = new URL(ctx.config.SITE_PUBLIC_URL || ctx.url.origin).host;
      if (CREDIT.test(host)) extra.credit = host;
    }
    const path = `/v1/circles/${encodeURIComponent(actor)}.${m[2]}?${
      apiCirclesQuery(options, extra)
    }`;
    return ctx.api.image(path, req, { account: actor });
  },
};
