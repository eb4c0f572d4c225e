/**
 * Middlewares in the shape Fresh and Hono use: `(ctx, next) => Response`. Each does one
 * thing around the rest of the chain (checks before `next()`, headers after it) and is
 * tested alone.
 */

/** What a request carries through the middlewares to its handler. */
export interface Ctx {
  readonly req: Request;
  readonly url: URL;
  /** The client's address, as the trusted proxies, if any, gave it. */
  readonly ip: string;
  /** What the metrics count the request as: the route's name, "preflight" or "error". */
  route: string;
  /** The API key the request came with, once it was checked; absent without a key. */
  key?: { readonly name: string; readonly hash: string };
}

export type Next = () => Promise<Response>;
export type Middleware<C extends Ctx = Ctx> = (ctx: C, next: Next) => Promise<Response>;
export type Handler<C extends Ctx = Ctx> = (ctx: C) => Promise<Response>;

/** Runs `ctx` through the middlewares, first outermost, to `last`. */
export function run<C extends Ctx>(
  middlewares: readonly Middleware<C>[],
  ctx: C,
  last: Next,
): Promise<Response> {
  const step = (i: number): Promise<Response> => {
    if (i === middlewares.length) return last();
    let called = false;
    return middlewares[i](ctx, () => {
      if (called) return Promise.reject(new Error("A middleware called next() twice"));
      called = true;
      return step(i + 1);
    });
  };
  return step(0);
}

/** The middlewares, first outermost, around `handler`, as one handler. */
export function compose<C extends Ctx>(
  middlewares: readonly Middleware<C>[],
  handler: Handler<C>,
): Handler<C> {
  return (ctx) => run(middlewares, ctx, () => handler(ctx));
}
