/**
 * `deno task screenshot`: the README's picture of a circles page, taken from the real
 * thing. Starts `deno task demo` on free ports, picks the capture's account with the most
 * people in its 24 h circles, opens its page in Chromium and writes docs/circles.png, then
 * stops the demo with SIGINT as Ctrl-C would.
 */
import { chromium } from "playwright-core";
import { freePort } from "@bsky/shared/testing/redis_server";
import { SERVICES } from "./services.ts";

const root = new URL("..", import.meta.url).pathname;
const OUT = `${root}docs/circles.png`;
const sidecar = JSON.parse(
  await Deno.readTextFile(`${root}testdata/demo-pds/capture.bin.gz.json`),
);

const ports: Record<string, string> = { DEMO_REDIS_PORT: String(freePort()) };
for (const spec of SERVICES) {
  for (const name of spec.env) if (name.endsWith("_PORT")) ports[name] ??= String(freePort());
}
const api = `http://127.0.0.1:${ports.FART_PORT}`;
const site = `http://127.0.0.1:${ports.SITE_PORT}`;

// Its own session, so that SIGINT reaches every process of the demo.
const demo = new Deno.Command("setsid", {
  args: [Deno.execPath(), "task", "demo"],
  cwd: root,
  env: { ...ports, LOG_LEVEL: "warn" },
  stdout: "null",
  stderr: "inherit",
}).spawn();

/** The number of people in an account's 24 h circles, once the API has them. */
async function circleSize(handle: string): Promise<number> {
  const res = await fetch(`${api}/v1/interactions/${handle}?window=24h&limit=100`);
  if (!res.ok) {
    await res.body?.cancel();
    return 0;
  }
  return (await res.json()).items.length;
}

try {
  const deadline = Date.now() + 120_000;
  let best = { handle: "", size: 0 };
  // The replay takes a few seconds; wait until the answers stop growing.
  let last = -1;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 2000));
    const sizes = await Promise.all(
      sidecar.accounts.map(async (a: { handle: string }) => ({
        handle: a.handle,
        size: await circleSize(a.handle).catch(() => 0),
      })),
    );
    const total = sizes.reduce((n, s) => n + s.size, 0);
    best = sizes.reduce((a, b) => (b.size > a.size ? b : a), best);
    if (total > 0 && total === last) break;
    last = total;
  }
  if (!best.handle) throw new Error("The demo showed no circles within two minutes");
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    await page.goto(`${site}/c/${best.handle}?window=24h`, { waitUntil: "networkidle" });
    await Deno.mkdir(`${root}docs`, { recursive: true });
    await page.screenshot({ path: OUT });
    console.log(`Wrote ${OUT}: the circles of @${best.handle} (${best.size} people)`);
  } finally {
    await browser.close();
  }
} finally {
  // SIGINT to the demo's whole session, as Ctrl-C does.
  Deno.kill(-demo.pid, "SIGINT");
  await demo.status;
}
