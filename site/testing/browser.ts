/**
 * Test helpers: the site in Chromium over its real processes. The API and the site are
 * started as their own processes (over a Redis, and a local PDS and PLC when given), and a
 * headless Chromium is launched; pages are checked with axe-core, for sideways scrolling and
 * for hydrated islands. Screenshots go to site/tests/artifacts/ (git ignores it).
 */
import axe from "axe-core";
import { type Browser, chromium, type Page } from "playwright-core";
import type { LocalPds } from "@bsky/shared/testing/pds";
import { freePort, type RedisServer } from "@bsky/shared/testing/redis_server";
import { startChain } from "@bsky/indexer/testing/chain";
import { spawnFart } from "../../fart/testing/spawn.ts";
import { spawnSite } from "./spawn.ts";

export const ARTIFACTS = new URL("../tests/artifacts/", import.meta.url).pathname;

/** A desktop's window and a phone's. */
export const SIZES = [
  { name: "desktop", width: 1280, height: 800 },
  { name: "phone", width: 390, height: 844 },
] as const;

const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

// Callbacks run in the page; the tests are type-checked without the DOM's types.
// deno-lint-ignore no-explicit-any
export type Dom = any;

export interface Violation {
  id: string;
  impact: string;
  help: string;
  nodes: string[];
}

/**
 * Runs axe-core on the page as it is now; its violations, each with where it is. axe's
 * source is run through the DevTools protocol (page.evaluate), which the page's CSP does not
 * govern, so the CSP stays on.
 */
export async function axeViolations(page: Page): Promise<Violation[]> {
  if (!await page.evaluate(() => "axe" in globalThis)) await page.evaluate(axe.source);
  return await page.evaluate(async () => {
    const result = await (globalThis as Dom).axe.run((globalThis as Dom).document, {
      resultTypes: ["violations"],
    });
    return result.violations.map((v: Dom) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n: Dom) => `${n.target.join(" ")}: ${n.failureSummary}`),
    }));
  });
}

/** Keeps a screenshot of the whole page, named for the window's size: `name_1280x800.png`. */
export async function screenshotAt(
  page: Page,
  name: string,
  { width, height }: { width: number; height: number },
): Promise<void> {
  await page.screenshot({ path: `${ARTIFACTS}${name}_${width}x${height}.png`, fullPage: true });
}

/** Whether anything on the page runs wider than the window (a sideways scroll). */
export const overflows = (page: Page): Promise<boolean> =>
  page.evaluate(() => {
    const { document, innerWidth } = globalThis as Dom;
    return document.documentElement.scrollWidth > innerWidth;
  });

/** Waits until every island on the page has been hydrated. */
export async function hydrated(page: Page): Promise<void> {
  await page.waitForFunction(() =>
    (globalThis as Dom).document.querySelectorAll("[data-island]:not([data-hydrated])").length ===
      0
  );
}

export interface BrowserStack extends AsyncDisposable {
  /** The site's address, and the API's. */
  origin: string;
  apiUrl: string;
  browser: Browser;
  /** Closes Chromium, then stops the site and the API. */
  close(): Promise<void>;
}

/** A browser stack over the real chain: what the PDS's accounts do reaches the pages. */
export interface ChainBrowserStack extends BrowserStack {
  pds: LocalPds;
  redisServer: RedisServer;
}

/**
 * Starts the real chain (a local PDS and PLC, a redis-server, the firehose and the indexer)
 * and the browser stack over it; disposing stops the browser stack, then the chain.
 */
export async function startChainBrowserStack(
  { siteEnv }: { siteEnv?: Record<string, string> } = {},
): Promise<ChainBrowserStack> {
  await using owned = new AsyncDisposableStack();
  const { pds, redisServer } = owned.use(await startChain());
  const stack = owned.use(await startBrowserStack({ redisUrl: redisServer.url, pds, siteEnv }));
  const all = owned.move();
  const close = () => all.disposeAsync();
  return { ...stack, pds, redisServer, close, [Symbol.asyncDispose]: close };
}

/**
 * Starts the API over `redisUrl` (asking the PDS's PLC, handle resolver and blobs when
 * `pds` is given), the site over the API, and Chromium. The site's visitors are limited
 * as `siteEnv` says (a limit too high to reach unless told otherwise).
 */
export async function startBrowserStack(
  { redisUrl, pds, siteEnv = { SITE_RATE_PER_IP: "100000" } }: {
    redisUrl: string;
    pds?: { plcUrl: string; pdsUrl: string };
    siteEnv?: Record<string, string>;
  },
): Promise<BrowserStack> {
  await Deno.mkdir(ARTIFACTS, { recursive: true });
  const apiPort = freePort(), sitePort = freePort();
  const api = await spawnFart({
    REDIS_URL: redisUrl,
    FART_PORT: String(apiPort),
    FART_CACHE_SECONDS: "1",
    ...(pds
      ? {
        FART_PLC_URL: pds.plcUrl,
        FART_HANDLE_RESOLVER_URL: pds.pdsUrl,
        FART_AVATAR_CDN_URL: pds.pdsUrl,
      }
      : {}),
    FART_RATE_PER_IP: "100000",
    LOG_LEVEL: "error",
  });
  const children = [api];
  const stop = async () => {
    for (const child of children.reverse()) {
      child.kill("SIGTERM");
      await child.status;
    }
  };
  try {
    children.push(
      await spawnSite({
        SITE_PORT: String(sitePort),
        FART_URL: `http://127.0.0.1:${apiPort}`,
        SITE_CACHE_SECONDS: "0",
        ...siteEnv,
        LOG_LEVEL: "error",
      }),
    );
    const browser = await chromium.launch({
      executablePath: "/usr/bin/chromium",
      args: CHROMIUM_FLAGS,
    });
    const close = async () => {
      await browser.close();
      await stop();
    };
    return {
      origin: `http://127.0.0.1:${sitePort}`,
      apiUrl: `http://127.0.0.1:${apiPort}`,
      browser,
      close,
      [Symbol.asyncDispose]: close,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
