/**
 * A small file-system router in Fresh's manner: routes/ maps to URLs (`index`, `[param]`),
 * `_app` wraps every page, `_middleware` runs first, `_404` and `_error` answer what has no
 * route or fails. Route modules export a `handler` (a function or one per method) and a
 * default page component; a module with only a page is rendered on GET.
 */
import { h } from "preact";
import type { Logger } from "@bsky/shared/log";
import { clientIp } from "@bsky/shared/client_ip";
import { type ApiClient, ApiError } from "../api.ts";
import type { SiteConfig } from "../config.ts";
import { DICTS, pickLang } from "../i18n.ts";
import type { Assets } from "./assets.ts";
import { type Manifest, RouteTable } from "./manifest.ts";
import { renderCollecting } from "./render.ts";
import type { PageProps, RouteContext, RouteModule, State } from "./types.ts";

export { loadManifest, type Manifest } from "./manifest.ts";

/** Longest path and query a page takes, in characters: 414 past it. */
export const MAX_URL_CHARS = 2048;

/** Retry-After of a 503 when the API gave none (it could not be reached). */
const DOWN_RETRY_AFTER_SECONDS = 5;

/** What the error page is given. */
export interface ErrorData {
  status: number;
  kind: ApiError["kind"] | "internal" | "not_page";
  /** The address's parameters that are not valid, named on the page. */
  fields?: string[];
}

const SECURITY_HEADERS = {
  // Everything comes from this origin: no third-party request leaves the browser.
  "content-security-policy": "default-src 'self'; img-src 'self' data: blob:; " +
    "style-src 'self'; script-src 'self'; connect-src 'self'; object-src 'none'; " +
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "strict-origin-when-cross-origin",
};

/** What every HTML answer says besides its own headers; these win over a page's own. */
const HTML_HEADERS: [string, string][] = [
  ["content-type", "text/html; charset=utf-8"],
  ...Object.entries(SECURITY_HEADERS),
  ["vary", "accept-language, cookie"],
];

/**
 * The headers a page given none of its own starts with; the others are set on the answer
 * made. A Response made with more headers than its type costs Deno much more to make (about
 * 0.1 ms for a page, mostly in garbage collection) than one given them afterwards.
 */
const PAGE_TYPE: [string, string][] = [HTML_HEADERS[0]];

/** Answers rendered here, which have their HTML headers already. */
const pageAnswers = new WeakSet<Response>();

export interface RouterDeps {
  manifest: Manifest;
  assets: Assets;
  log: Logger;
  context: { api: ApiClient; config: SiteConfig };
}

/** The site's fetch handler over a manifest. */
export function createRouter({ manifest, assets, log, context }: RouterDeps) {
  const page = (
    module: RouteModule,
    url: URL,
    params: Record<string, string>,
    state: State,
  ) =>
  (data?: unknown, init?: ResponseInit): Response => {
    const Page = module.default;
    if (!Page) throw new RangeError(`The route at ${url.pathname} has no page`);
    const props: PageProps<unknown> = { data, url, params, state };
    const App = manifest.app;
    const rendered = renderCollecting(h(App, { Component: () => h(Page, props), url, state }));
    const res = new Response(documentHtml(state, rendered, assets), {
      ...init,
      headers: init?.headers ?? PAGE_TYPE,
    });
    for (const [k, v] of HTML_HEADERS) res.headers.set(k, v);
    if (!res.headers.has("cache-control")) res.headers.set("cache-control", "no-cache");
    pageAnswers.add(res);
    return res;
  };

  /** The error page for a request the site cannot read (malformed path or query). */
  const badRequest = (url: URL, state: State, status = 400): Response => {
    const data: ErrorData = { status, kind: "bad_request" };
    return page(manifest.error, url, {}, state)(data, {
      status,
      headers: { "cache-control": "no-store" },
    });
  };

  async function route(
    req: Request,
    url: URL,
    state: State,
    base: Pick<RouteContext, "api" | "config">,
  ): Promise<Response> {
    for (const r of table.candidates(url.pathname)) {
      const match = r.pattern.exec({ pathname: url.pathname });
      if (!match) continue;
      const known = r.module.query;
      if (known && [...url.searchParams.keys()].some((k) => k !== "lang" && !known.includes(k))) {
        return badRequest(url, state);
      }
      const params: Record<string, string> = {};
      for (const [k, v] of Object.entries(match.pathname.groups)) {
        // Decoded here once; a route never decodes its params again.
        const value = decodePathPart(v ?? "");
        if (value === undefined) return badRequest(url, state);
        params[k] = value;
      }
      const ctx: RouteContext = {
        ...base,
        url,
        params,
        state,
        render: page(r.module, url, params, state),
        next: () => Promise.reject(new RangeError("A route has no next step")),
      };
      const handler = r.module.handler;
      if (typeof handler === "function") return await handler(req, ctx);
      const method = req.method === "HEAD" ? "GET" : req.method as "GET" | "POST";
      const fn = handler?.[method] ?? (method === "GET" && r.module.default ? undefined : null);
      if (fn === null) {
        return new Response("Method not allowed", { status: 405, headers: { allow: "GET, HEAD" } });
      }
      return fn ? await fn(req, ctx) : ctx.render();
    }
    return page(manifest.notFound, url, {}, state)(undefined, { status: 404 });
  }

  const table = new RouteTable(manifest.routes);
  const { config } = context;
  const trustedProxies = config.SITE_TRUST_PROXY ? config.SITE_TRUSTED_PROXIES : 0;

  return async function fetch(
    req: Request,
    info?: { remoteAddr: { hostname: string } },
  ): Promise<Response> {
    const url = new URL(req.url);
    const asset = assets.files.get(url.pathname);
    if (asset) {
      return new Response(req.method === "HEAD" ? null : asset.body as Uint8Array<ArrayBuffer>, {
        headers: {
          "content-type": asset.type,
          "cache-control": asset.immutable
            ? "public, max-age=31536000, immutable"
            : "public, max-age=300",
          "x-content-type-options": "nosniff",
        },
      });
    }
    const { lang, fromQuery } = pickLang(req, url);
    const state: State = { lang, t: DICTS[lang] };
    // Every API call a page makes is charged to its visitor.
    const visitor = clientIp(
      req.headers.get("x-forwarded-for"),
      info?.remoteAddr.hostname ?? "unknown",
      trustedProxies,
    );
    const base = { config, api: context.api.forVisitor(visitor) };
    let res: Response;
    try {
      if (url.pathname.length + url.search.length > MAX_URL_CHARS) {
        res = badRequest(url, state, 414);
      } else if (manifest.middleware) {
        const ctx: RouteContext = {
          ...base,
          url,
          params: {},
          state,
          render: () => {
            throw new RangeError("Middleware cannot render");
          },
          next: () => route(req, url, state, base),
        };
        res = await manifest.middleware(req, ctx);
      } else {
        res = await route(req, url, state, base);
      }
    } catch (err) {
      const data: ErrorData = err instanceof ApiError
        ? { status: err.status, kind: err.kind, ...(err.fields ? { fields: err.fields } : {}) }
        : { status: 500, kind: "internal" };
      if (!(err instanceof ApiError) || err.kind === "down") {
        log.error("Request failed", { url: req.url, err });
      }
      const headers: Record<string, string> = { "cache-control": "no-store" };
      // A page that cannot be made now says when to try again, as the API told the site.
      if (data.status === 503 || data.status === 429) {
        headers["retry-after"] = (err instanceof ApiError && err.retryAfter) ||
          String(DOWN_RETRY_AFTER_SECONDS);
      }
      res = page(manifest.error, url, {}, state)(data, { status: data.status, headers });
    }
    if (!pageAnswers.has(res) && res.headers.get("content-type")?.startsWith("text/html")) {
      for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.headers.set(k, v);
      res.headers.set("vary", "accept-language, cookie");
    }
    if (fromQuery) {
      res.headers.append("set-cookie", `lang=${lang}; Path=/; Max-Age=31536000; SameSite=Lax`);
    }
    if (req.method === "HEAD") {
      return new Response(null, { status: res.status, headers: res.headers });
    }
    return res;
  };
}

/** A path segment percent-decoded, or undefined when its percent-encoding is malformed. */
function decodePathPart(raw: string): string | undefined {
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}

const scriptJson = (value: unknown) => JSON.stringify(value).replace(/</g, "\\u003c");

function documentHtml(state: State, rendered: ReturnType<typeof renderCollecting>, assets: Assets) {
  const scripts = rendered.islands.size > 0 ? assets.scriptsFor(rendered.islands) : undefined;
  return "<!DOCTYPE html>" +
    `<html lang="${state.lang === "pt" ? "pt-BR" : "en"}"><head>` +
    `<meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<meta name="color-scheme" content="light dark">` +
    `<link rel="stylesheet" href="${assets.asset("style.css")}">` +
    `<link rel="icon" href="${assets.asset("favicon.svg")}" type="image/svg+xml">` +
    rendered.head +
    (scripts?.preload.map((u) => `<link rel="modulepreload" href="${u}">`).join("") ?? "") +
    `</head><body>${rendered.body}` +
    (scripts
      ? `<script type="application/json" id="islands">${scriptJson(scripts.manifest)}</script>` +
        `<script type="module" src="${assets.clientUrl}"></script>`
      : "") +
    `</body></html>`;
}
