/**
 * Dispatch by the route table: the route at the request's path and method, its
 * middlewares, then its parameters (path parts decoded once, the query parsed with the
 * route's schema, path parameters checked) and its handler. No route at the path is a 404,
 * another method a 405 that says which ones are allowed.
 */
import { decodePathParts, HttpError, parseQuery } from "./http.ts";
import { type Ctx, type Handler, type Middleware, run } from "./middleware/compose.ts";
import { PATH_PARAMS, type Route, type Services } from "./route.ts";
import { noQuery } from "./schemas.ts";

/** The methods the API answers at all; anything else is a 405 wherever it goes. */
const METHODS = new Set(["GET", "HEAD", "POST"]);

interface Compiled {
  route: Route;
  /** Names of its path parameters, in order. */
  params: string[];
  pattern?: RegExp;
}

/** A path template as a pattern: each `{name}` one path segment or the start of one. */
function compile(path: string): { pattern: RegExp; params: string[] } {
  const parts = path.split(/\{(\w+)\}/);
  const params = parts.filter((_, k) => k % 2 === 1);
  for (const name of params) {
    if (!PATH_PARAMS[name]) throw new Error(`${path}: no path parameter is named ${name}`);
  }
  const source = parts.map((part, k) =>
    k % 2 === 1 ? "([^/]+?)" : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
  ).join("");
  return { pattern: new RegExp(`^${source}$`), params };
}

/** Characters of a template besides its parameters: the more, the more specific. */
const literalLength = (path: string) => path.replace(/\{\w+\}/g, "").length;

/** The route a request goes to: its path parameters' names, and their values as sent. */
interface Found {
  route: Route;
  params: string[];
  raw: string[];
}

/** The table, compiled for matching paths. */
export class Router {
  /** Routes at a path without parameters, by path. */
  readonly #exact = new Map<string, Compiled[]>();
  /** The others, most specific first: /v1/circles/{actor}.svg before /v1/circles/{actor}. */
  readonly #patterns: Compiled[][] = [];

  constructor(table: readonly Route[]) {
    const byPath = new Map<string, Compiled[]>();
    for (const route of table) {
      const { pattern, params } = compile(route.path);
      const at = byPath.get(route.path) ?? [];
      if (at.some((c) => c.route.method === route.method)) {
        throw new Error(`${route.method} ${route.path} is in the table twice`);
      }
      at.push({ route, params, pattern: params.length ? pattern : undefined });
      byPath.set(route.path, at);
    }
    for (const [path, at] of byPath) {
      if (at[0].pattern) this.#patterns.push(at);
      else this.#exact.set(path, at);
    }
    this.#patterns.sort((a, b) => literalLength(b[0].route.path) - literalLength(a[0].route.path));
  }

  /** The routes at a path, with its raw (undecoded) parameters. */
  #at(pathname: string): { at: Compiled[]; raw: string[] } | undefined {
    const exact = this.#exact.get(pathname);
    if (exact) return { at: exact, raw: [] };
    for (const at of this.#patterns) {
      const m = at[0].pattern!.exec(pathname);
      if (m) return { at, raw: m.slice(1) };
    }
    return undefined;
  }

  /**
   * The route that answers `method` (HEAD as GET) at the path; a 405 saying which
   * methods are allowed when another is, a 404 when none is.
   */
  find(method: string, pathname: string): Found {
    if (!METHODS.has(method)) {
      throw new HttpError(405, `Method ${method} is not allowed`, {}, {
        allow: "GET, HEAD, POST, OPTIONS",
      });
    }
    const found = this.#at(pathname);
    if (!found) throw new HttpError(404, `No endpoint at ${pathname}: see /docs`);
    const wanted = method === "HEAD" ? "GET" : method;
    const c = found.at.find((c) => c.route.method === wanted);
    if (!c) {
      const allow = found.at.map((c) => c.route.method === "GET" ? "GET, HEAD" : "POST");
      throw new HttpError(405, `Method ${method} is not allowed at ${pathname}`, {}, {
        allow: [...allow, "OPTIONS"].join(", "),
      });
    }
    return { route: c.route, params: c.params, raw: found.raw };
  }
}

/** Decodes the path parameters, parses the query, checks both, and runs the handler. */
function answer(ctx: Ctx, { route, params, raw }: Found, services: Services): Promise<Response> {
  const decoded = decodePathParts(ctx.url.pathname, raw);
  const query = parseQuery(ctx.url, route.query ?? noQuery);
  const checked: Record<string, string> = {};
  params.forEach((name, k) => {
    checked[name] = PATH_PARAMS[name].check?.(decoded[k]) ?? decoded[k];
  });
  return route.handler({ ...ctx, params: checked, query, services });
}

/**
 * The handler that answers by the table: the route's middlewares (`middlewares(route)`),
 * then its parameters and its handler.
 */
export function dispatcher(
  router: Router,
  middlewares: (route: Route) => readonly Middleware[],
  services: Services,
): Handler {
  return async (ctx) => {
    const found = router.find(ctx.req.method, ctx.url.pathname);
    ctx.route = found.route.name;
    return await run(middlewares(found.route), ctx, async () => await answer(ctx, found, services));
  };
}
