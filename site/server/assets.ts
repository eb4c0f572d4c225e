/**
 * The browser's files: the islands and the client that hydrates them, bundled at startup by
 * Deno's own bundler (esbuild inside Deno, no build step, nothing committed), and static/.
 * Every URL carries a hash of the content, so they can be cached for a year.
 */
import { Buffer } from "node:buffer";

export interface Asset {
  body: Uint8Array;
  type: string;
  /** Content-addressed: cacheable forever. */
  immutable: boolean;
}

const TYPES: Record<string, string> = {
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  svg: "image/svg+xml",
  png: "image/png",
  ico: "image/x-icon",
  txt: "text/plain; charset=utf-8",
};

export class BundleError extends Error {
  override name = "BundleError";
}

async function hashOf(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Buffer.from(digest).toString("hex").slice(0, 12);
}

const basename = (path: string) => path.slice(path.lastIndexOf("/") + 1);
const CHUNK_IMPORT = /["']\.\/(chunk-[\w-]+\.js)["']/g;

export class Assets {
  /** By URL path. */
  readonly files = new Map<string, Asset>();
  readonly #islandUrls = new Map<string, string>();
  readonly #static = new Map<string, string>();
  /** The chunks each file imports, directly or not. */
  readonly #deps = new Map<string, string[]>();
  clientUrl = "";

  /** Builds everything under `siteDir`: client.ts, islands/*.tsx, static/*. */
  static async build(siteDir: string, islands: string[]): Promise<Assets> {
    const assets = new Assets();
    const entrypoints = [
      `${siteDir}/client.ts`,
      ...islands.map((n) => `${siteDir}/islands/${n}.tsx`),
    ];
    const result = await Deno.bundle({
      entrypoints,
      outputDir: `${siteDir}/.bundle`,
      platform: "browser",
      format: "esm",
      minify: true,
      codeSplitting: true,
      write: false,
    });
    if (!result.success || !result.outputFiles) {
      const why = result.errors.map((e) => e.text).join("; ");
      throw new BundleError(`Cannot bundle the islands: ${why}`);
    }
    const direct = new Map<string, string[]>();
    const urlOf = new Map<string, string>();
    for (const file of result.outputFiles) {
      const name = basename(file.path);
      // Every file is served from /_site/, flat: islands/X.js imports "../chunk-…" as "./chunk-…".
      const text = new TextDecoder().decode(file.contents ?? new Uint8Array())
        .replace(/(["'])(?:\.\.?\/)+(chunk-[\w-]+\.js)\1/g, "$1./$2$1");
      const bytes = new TextEncoder().encode(text);
      // esbuild names chunks by their content already; entries get a hash here.
      const url = name.startsWith("chunk-")
        ? `/_site/${name}`
        : `/_site/${name.replace(/\.js$/, "")}-${await hashOf(bytes)}.js`;
      urlOf.set(name, url);
      direct.set(url, [...text.matchAll(CHUNK_IMPORT)].map((m) => m[1]));
      assets.files.set(url, { body: bytes, type: TYPES.js, immutable: true });
      if (name === "client.js") assets.clientUrl = url;
      else if (!name.startsWith("chunk-")) assets.#islandUrls.set(name.replace(/\.js$/, ""), url);
    }
    const closure = (url: string, seen = new Set<string>()): string[] => {
      for (const dep of direct.get(url) ?? []) {
        const depUrl = urlOf.get(dep)!;
        if (!seen.has(depUrl)) {
          seen.add(depUrl);
          closure(depUrl, seen);
        }
      }
      return [...seen];
    };
    for (const url of direct.keys()) assets.#deps.set(url, closure(url));

    for await (const entry of Deno.readDir(`${siteDir}/static`)) {
      if (!entry.isFile) continue;
      const bytes = await Deno.readFile(`${siteDir}/static/${entry.name}`);
      const dot = entry.name.lastIndexOf(".");
      const ext = entry.name.slice(dot + 1);
      const type = TYPES[ext] ?? "application/octet-stream";
      const url = `/static/${entry.name.slice(0, dot)}-${await hashOf(bytes)}.${ext}`;
      assets.files.set(url, { body: bytes, type, immutable: true });
      assets.files.set(`/static/${entry.name}`, { body: bytes, type, immutable: false });
      assets.#static.set(entry.name, url);
    }
    return assets;
  }

  /** The hashed URL of a file in static/. */
  asset(name: string): string {
    const url = this.#static.get(name);
    if (!url) throw new RangeError(`No static file "${name}"`);
    return url;
  }

  /** The scripts a page with these islands needs: the island URLs and every module to preload. */
  scriptsFor(islands: Iterable<string>): { manifest: Record<string, string>; preload: string[] } {
    const manifest: Record<string, string> = {};
    const preload = new Set([this.clientUrl, ...this.#deps.get(this.clientUrl)!]);
    for (const name of islands) {
      const url = this.#islandUrls.get(name);
      if (!url) throw new RangeError(`No island "${name}"`);
      manifest[name] = url;
      preload.add(url);
      for (const dep of this.#deps.get(url)!) preload.add(dep);
    }
    return { manifest, preload: [...preload] };
  }
}
