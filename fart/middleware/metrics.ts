/** Counts every answer by route and status, and how long it took. */
import type { FartMetrics } from "../metrics.ts";
import type { Middleware } from "./compose.ts";

export function measure(metrics: FartMetrics): Middleware {
  return async (ctx, next) => {
    const t0 = performance.now();
    const res = await next();
    metrics.requests.with({ route: ctx.route, status: String(res.status) }).inc();
    metrics.latency.observe((performance.now() - t0) / 1000);
    return res;
  };
}
