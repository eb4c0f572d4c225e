/** Test helper: a request as the middlewares get it, from a client at `ip`. */
import type { Ctx } from "../middleware/compose.ts";

export function ctxOf(path: string, init?: RequestInit, ip = "192.0.2.1"): Ctx {
  const req = new Request(`http://api.test${path}`, init);
  return { req, url: new URL(req.url), ip, route: "error" };
}
