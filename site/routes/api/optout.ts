import type { z } from "zod";
import type * as api from "@bsky/fart/schemas";
import { ApiError } from "../../api.ts";
import type { Handlers } from "../../server/types.ts";

type OptAnswer = z.infer<typeof api.optoutAnswer>;

/** The opt-out code page's source, polled by its island: whether the code was posted yet. */
export const query = ["code"];

const CODE = /^[A-Za-z2-9]{8}$/;
const headers = { "cache-control": "no-store" };

export const handler: Handlers = {
  async GET(_req, ctx) {
    const code = ctx.url.searchParams.get("code") ?? "";
    if (!CODE.test(code)) return Response.json({ error: "bad_request" }, { status: 400, headers });
    try {
      const answer = await ctx.api.json<OptAnswer>(`/v1/optout/codes/${code}`, { fresh: true });
      return Response.json({ state: answer.state }, { headers });
    } catch (err) {
      if (err instanceof ApiError && err.kind === "not_found") {
        return Response.json({ state: "expired" }, { status: 404, headers });
      }
      throw err;
    }
  },
};
