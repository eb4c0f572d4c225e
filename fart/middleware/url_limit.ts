/** A path and query past a length are refused with 414 before anything reads them. */
import { HttpError } from "../http.ts";
import type { Middleware } from "./compose.ts";

export function urlLimit(maxChars: number): Middleware {
  return async (ctx, next) => {
    if (ctx.url.pathname.length + ctx.url.search.length > maxChars) {
      throw new HttpError(414, `The path and query are longer than ${maxChars} characters`);
    }
    return await next();
  };
}
