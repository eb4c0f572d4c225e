/**
 * With API keys required, only key holders get answers: no shared cache may keep one for
 * others, so `Cache-Control: public` becomes `private` (same max-age).
 */
import { keepPrivate } from "../http.ts";
import type { Middleware } from "./compose.ts";

export const privateAnswers: Middleware = async (_ctx, next) => {
  const res = await next();
  keepPrivate(res.headers);
  return res;
};
