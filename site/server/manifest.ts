/**
 * The site's routes and islands, read from routes/ and islands/ in Fresh's manner, and the
 * table that finds the routes a path may match (router.ts).
 * @module
 */
import type { ComponentType } from "preact";
import { registerIsland } from "./render.ts";
import type { AppProps, Handler, RouteModule } from "./types.ts";

export interface Route {
  pattern: URLPattern;
  path: string;
  module: RouteModule;
  dynamic: number;
}

/**
 * The routes a path may match, by the path's first segment, in the manifest's order: the
 * routes whose first segment is that text, with those whose first segment is a parameter.
 * Only these are tested against the pattern.
 */
export class RouteTable {
  readonly #byFirst = new Map<string, Route[]>();
  readonly #anyFirst: Route[];

  constructor(routes: Route[]) {
    const first = (r: Route) => firstSegment(r.path);
    const isParam = (r: Route) => first(r).startsWith(":");
    this.#anyFirst = routes.filter(isParam);
    for (const name of new Set(routes.filter((r) => !isParam(r)).map(first))) {
      this.#byFirst.set(name, routes.filter((r) => isParam(r) || first(r) === name));
    }
  }

  /** The routes worth testing for a pathname, in the order they are tried. */
  candidates(pathname: string): Route[] {
    return this.#byFirst.get(firstSegment(pathname)) ?? this.#anyFirst;
  }
}

/** The text between a path's first slash and its second (or its end). */
function firstSegment(path: string): string {
  const end = path.indexOf("/", 1);
  return end === -1 ? path.slice(1) : path.slice(1, end);
}

export interface Manifest {
  routes: Route[];
  app: ComponentType<AppProps>;
  notFound: RouteModule;
  error: RouteModule;
  middleware?: Handler;
  islands: string[];
}

async function walk(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isDirectory) {
      out.push(...await walk(`${dir}/${entry.name}`, `${prefix}${entry.name}/`));
    } else if (/\.tsx?$/.test(entry.name) && !/_test\.tsx?$/.test(entry.name)) {
      out.push(`${prefix}${entry.name}`);
    }
  }
  return out;
}

const load = (path: string) => import(new URL(`file://${path}`).href);

/** Reads routes/ and islands/ (islands first, so pages render them as islands). */
export async function loadManifest(siteDir: string): Promise<Manifest> {
  const islands: string[] = [];
  for await (const entry of Deno.readDir(`${siteDir}/islands`)) {
    const m = entry.name.match(/^([A-Z]\w*)\.tsx$/);
    if (!m) continue;
    const mod = await load(`${siteDir}/islands/${entry.name}`);
    registerIsland(m[1], mod.default);
    islands.push(m[1]);
  }
  islands.sort();
  const routes: Route[] = [];
  const special: Record<string, RouteModule> = {};
  for (const file of (await walk(`${siteDir}/routes`)).sort()) {
    const module: RouteModule = await load(`${siteDir}/routes/${file}`);
    const name = file.replace(/\.tsx?$/, "");
    if (/^_\w+$/.test(name)) {
      special[name] = module;
      continue;
    }
    const segments = name.split("/").filter((s) => s !== "index");
    const path = "/" + segments.map((s) => s.replace(/^\[(\w+)\]$/, ":$1")).join("/");
    routes.push({
      pattern: new URLPattern({ pathname: path }),
      path,
      module,
      dynamic: segments.filter((s) => s.startsWith("[")).length,
    });
  }
  routes.sort((a, b) => a.dynamic - b.dynamic || a.path.localeCompare(b.path));
  if (!special._app?.default || !special._404?.default || !special._error?.default) {
    throw new RangeError("routes/ needs _app.tsx, _404.tsx and _error.tsx");
  }
  return {
    routes,
    app: special._app.default as unknown as ComponentType<AppProps>,
    notFound: special._404,
    error: special._error,
    middleware: special._middleware?.handler as Handler | undefined,
    islands,
  };
}
