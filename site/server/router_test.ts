import assert from "node:assert/strict";
import { h } from "preact";
import { createLogger } from "@bsky/shared/log";
import { ApiClient } from "../api.ts";
import { loadSiteConfig } from "../config.ts";
import type { Assets } from "./assets.ts";
import { createRouter, type Manifest } from "./router.ts";
import type { AppProps, PageProps, RouteModule } from "./types.ts";

/** A page that shows which route answered and with what parameters. */
const namedPage = (name: string, extra: Partial<RouteModule> = {}): RouteModule => ({
  default: ({ params }: PageProps) => h("p", null, `${name} ${JSON.stringify(params)}`),
  ...extra,
});

/** Routes in the order loadManifest tries them: static ones first, then by path. */
const PATHS: [string, RouteModule][] = [
  ["/", namedPage("index")],
  ["/about", namedPage("about")],
  ["/api/x", { handler: () => Response.json({ x: 1 }) }],
  ["/own", {
    ...namedPage("own"),
    handler: { GET: (_req, ctx) => ctx.render(undefined, { headers: own }) },
  }],
  ["/:user", namedPage("user")],
  ["/c/:handle", namedPage("circle")],
  ["/c/:handle/blocks", namedPage("blocks")],
];
const NAMES = new Map([
  ["/", "index"],
  ["/about", "about"],
  ["/own", "own"],
  ["/:user", "user"],
  ["/c/:handle", "circle"],
  ["/c/:handle/blocks", "blocks"],
]);
const own = { "cache-control": "no-store", vary: "x-own", "x-page": "1" };

function testRouter() {
  const manifest: Manifest = {
    routes: PATHS.map(([path, module]) => ({
      pattern: new URLPattern({ pathname: path }),
      path,
      module,
      dynamic: (path.match(/:/g) ?? []).length,
    })),
    app: ({ Component }: AppProps) => h("main", null, h(Component, null)),
    notFound: namedPage("none"),
    error: namedPage("error"),
    islands: [],
  };
  const assets = {
    files: new Map(),
    asset: (name: string) => `/static/${name}`,
    scriptsFor: () => ({ manifest: {}, preload: [] }),
    clientUrl: "/static/client.js",
  } as unknown as Assets;
  const config = loadSiteConfig((n) => ({ FART_URL: "http://api.test" })[n]);
  const api = new ApiClient({ baseUrl: config.FART_URL, cacheSeconds: 0 });
  const log = createLogger("test", { write: () => {} });
  const fetch = createRouter({ manifest, assets, log, context: { api, config } });
  return {
    manifest,
    get: (path: string, init?: RequestInit) => fetch(new Request(`http://site.test${path}`, init)),
  };
}

Deno.test("a path reaches the first route in the manifest's order whose pattern matches it, as when every pattern is tried", async () => {
  const { manifest, get } = testRouter();
  const paths = [
    "/",
    "/about",
    "/about/",
    "/About",
    "//about",
    "/%61bout",
    "/bob",
    "/c",
    "/c/",
    "/c/al",
    "/c/al%20x",
    "/c/al/blocks",
    "/c/al/blocks/more",
    "/c/al/other",
    "/own",
    "/nope/deeper",
    "/api",
    "/api/x",
    "/api/y",
  ];
  for (const path of paths) {
    const pathname = new URL(`http://site.test${path}`).pathname;
    const first = manifest.routes.find((r) => r.pattern.test({ pathname }));
    const res = await get(path);
    const body = await res.text();
    if (!first) {
      assert.equal(res.status, 404, path);
      assert.match(body, /<p>none \{\}<\/p>/, path);
    } else if (first.path === "/api/x") {
      assert.deepEqual(JSON.parse(body), { x: 1 }, path);
    } else {
      const groups = first.pattern.exec({ pathname })!.pathname.groups;
      const params = Object.fromEntries(
        Object.entries(groups).map(([k, v]) => [k, decodeURIComponent(v ?? "")]),
      );
      const name = NAMES.get(first.path);
      assert.ok(
        body.includes(`<p>${name} ${JSON.stringify(params).replaceAll('"', "&quot;")}</p>`),
        `${path}: ${body}`,
      );
      assert.equal(res.status, 200, path);
    }
  }
});

Deno.test("pages carry the HTML and security headers, a page's own headers kept unless those win; HEAD answers the same without a body; other methods get 405", async () => {
  const { get } = testRouter();
  const page = await get("/about");
  await page.body?.cancel();
  assert.equal(page.headers.get("content-type"), "text/html; charset=utf-8");
  assert.equal(page.headers.get("cache-control"), "no-cache");
  assert.equal(page.headers.get("vary"), "accept-language, cookie");
  assert.equal(page.headers.get("x-content-type-options"), "nosniff");
  assert.equal(page.headers.get("referrer-policy"), "strict-origin-when-cross-origin");
  assert.match(page.headers.get("content-security-policy")!, /^default-src 'self';/);

  const ownPage = await get("/own");
  await ownPage.body?.cancel();
  assert.equal(ownPage.headers.get("cache-control"), "no-store");
  assert.equal(ownPage.headers.get("x-page"), "1");
  assert.equal(ownPage.headers.get("vary"), "accept-language, cookie");
  assert.equal(ownPage.headers.get("content-type"), "text/html; charset=utf-8");
  // The headers given once are not shared: a change to one answer's shows in no other.
  ownPage.headers.set("x-later", "1");
  page.headers.set("x-later", "1");
  const again = await get("/about");
  await again.body?.cancel();
  assert.equal(again.headers.get("x-later"), null);

  const missing = await get("/nope/deeper");
  await missing.body?.cancel();
  assert.equal(missing.status, 404);
  assert.equal(missing.headers.get("vary"), "accept-language, cookie");
  assert.equal(missing.headers.get("cache-control"), "no-cache");

  const json = await get("/api/x");
  await json.body?.cancel();
  assert.equal(json.headers.get("content-security-policy"), null);
  assert.equal(json.headers.get("vary"), null);

  for (const path of ["/about", "/own", "/c/al", "/nope/deeper"]) {
    const full = await get(path);
    const fullBody = await full.text();
    const head = await get(path, { method: "HEAD" });
    assert.equal(head.status, full.status, path);
    assert.equal(await head.text(), "", path);
    assert.ok(fullBody.length > 0, path);
    assert.deepEqual([...head.headers], [...full.headers], path);
  }

  for (const method of ["POST", "PUT", "DELETE"]) {
    const res = await get("/about", { method });
    assert.equal(res.status, 405, method);
    assert.equal(res.headers.get("allow"), "GET, HEAD");
    assert.equal(await res.text(), "Method not allowed");
  }
  const set = await get("/about?lang=pt");
  await set.body?.cancel();
  assert.equal(set.headers.get("set-cookie"), "lang=pt; Path=/; Max-Age=31536000; SameSite=Lax");
  const next = await get("/about");
  await next.body?.cancel();
  assert.equal(next.headers.get("set-cookie"), null);
});
