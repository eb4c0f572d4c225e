/**
 * Every failure becomes the JSON error answer: an HttpError as it says, anything else a
 * 500 that shows nothing internal (the log has the error itself).
 */
import type { Logger } from "@bsky/shared/log";
import { errorResponse, HttpError } from "../http.ts";
import type { Middleware } from "./compose.ts";

export function errors(log: Logger): Middleware {
  return async (ctx, next) => {
    try {
      return await next();
    } catch (err) {
      ctx.route = "error";
      if (!(err instanceof HttpError)) log.error("Request failed", { url: ctx.req.url, err });
      return errorResponse(err);
    }
  };
}
