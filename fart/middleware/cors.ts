/** CORS: open to every origin, for reads and for asking opt codes. */
import type { Middleware } from "./compose.ts";

export const CORS_HEADERS = {
  "access-control-allow-origin": "*",
  "access-control-allow-methods": "GET, HEAD, POST, OPTIONS",
  "access-control-allow-headers": "authorization, if-none-match, content-type",
  "access-control-expose-headers":
    "etag, location, ratelimit-limit, ratelimit-remaining, ratelimit-reset, retry-after",
  "access-control-max-age": "86400",
};

/** The CORS headers on every answer, errors included. */
export const cors: Middleware = async (_ctx, next) => {
  const res = await next();
  for (const [k, v] of Object.entries(CORS_HEADERS)) res.headers.set(k, v);
  return res;
};

/** A preflight (OPTIONS, at any path) is answered 204 at once: `cors` adds what it asks. */
export const preflight: Middleware = async (ctx, next) => {
  if (ctx.req.method !== "OPTIONS") return await next();
  ctx.route = "preflight";
  return new Response(null, { status: 204 });
};
