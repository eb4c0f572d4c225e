// Runs a local Bluesky network (a PLC directory and a PDS, from @atproto/dev-env) for tests.
//
// Run with the Node 22 binary that setup.sh installs (dev-env needs Node >= 22 and a
// better-sqlite3 built for it), from anywhere: modules resolve from .cache/pds-harness.
// Prints one JSON line on stdout once ready:
//   {"ready":true,"pdsUrl":"http://localhost:P","plcUrl":"http://localhost:Q","adminPassword":"..."}
// Everything else goes to stderr. Stops (exit 0) when stdin closes or on SIGTERM/SIGINT, so
// a parent that dies without cleaning up still takes the network down with it.
//
// Env: PDS_HARNESS_DIR (install folder), PDS_HARNESS_PDS_PORT, PDS_HARNESS_PLC_PORT (0 or
// unset: a free port), PDS_HARNESS_ADMIN_PASSWORD (default: random),
// PDS_HARNESS_LOGS=1 (let dev-env/PDS log to stderr).
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import process from "node:process";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const harnessDir = process.env.PDS_HARNESS_DIR ??
  path.resolve(here, "../../../.cache/pds-harness");

// Keep stdout for the ready line alone.
console.log = console.info = console.debug = console.error;
// The PDS and PLC loggers (pino, via @atproto/common) read these when first imported; pino
// writes to stdout unless told otherwise.
if (process.env.PDS_HARNESS_LOGS === "1") {
  process.env.LOG_ENABLED = "true";
  process.env.LOG_DESTINATION = "/dev/stderr";
} else {
  process.env.LOG_ENABLED = "false";
}

function port(name) {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new RangeError(`Cannot parse ${name}: "${raw}" is not a port number`);
  }
  return n === 0 ? undefined : n;
}

function isDir(p) {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

// The PDS fsyncs one SQLite file per repo; on tmpfs that costs next to nothing.
const baseDir = isDir("/dev/shm") ? "/dev/shm" : tmpdir();
const dataRoot = mkdtempSync(path.join(baseDir, "pds-harness-"));
mkdirSync(path.join(dataRoot, "data"));
let cleaned = false;
function cleanUp() {
  if (cleaned) return;
  cleaned = true;
  rmSync(dataRoot, { recursive: true, force: true });
}
process.on("exit", cleanUp);

// Assigned once started, but stop() can run before that (a signal during start-up).
// deno-lint-ignore prefer-const
let network;
let stopping;
function stop(code = 0) {
  stopping ??= (async () => {
    // A close that hangs must not keep the ports and the data folder forever.
    setTimeout(() => process.exit(code || 1), 10_000).unref();
    try {
      await network?.close();
    } catch (err) {
      console.error("pds-harness: error while closing the network:", err);
      code = code || 1;
    }
    cleanUp();
    process.exit(code);
  })();
  return stopping;
}

// A parent that died closes our stdout/stderr pipes: ignore EPIPE rather than crash before
// cleaning up.
process.stdout.on("error", () => {});
process.stderr.on("error", () => {});
process.on("SIGTERM", () => stop(0));
process.on("SIGINT", () => stop(0));
process.stdin.on("end", () => stop(0));
process.stdin.on("close", () => stop(0));
process.stdin.on("error", () => stop(0));
process.stdin.resume();
process.on("uncaughtException", (err) => {
  console.error("pds-harness: uncaught exception:", err);
  stop(1);
});
process.on("unhandledRejection", (err) => {
  console.error("pds-harness: unhandled rejection:", err);
  stop(1);
});

const require = createRequire(path.join(harnessDir, "package.json"));
const devEnvPath = require.resolve("@atproto/dev-env");
const { TestNetworkNoAppView } = await import(pathToFileURL(devEnvPath).href);

const adminPassword = process.env.PDS_HARNESS_ADMIN_PASSWORD ||
  randomBytes(12).toString("hex");
const started = Date.now();
// dev-env spreads these over its defaults, so a key set to undefined would clobber the free
// port it picked (the PDS would then listen on 2583 while reporting another port).
const plcPort = port("PDS_HARNESS_PLC_PORT");
const pdsPort = port("PDS_HARNESS_PDS_PORT");
network = await TestNetworkNoAppView.create({
  plc: plcPort ? { port: plcPort } : {},
  pds: {
    ...(pdsPort ? { port: pdsPort } : {}),
    adminPassword,
    dataDirectory: path.join(dataRoot, "data"),
    blobstoreDiskLocation: path.join(dataRoot, "blobs"),
    blobstoreDiskTmpLocation: path.join(dataRoot, "blobs-tmp"),
    // Off by default in the PDS too; said here because heavy test workloads depend on it.
    rateLimitsEnabled: false,
    // A consumer more than this many events behind is cut off; a recorder replaying from
    // cursor 0 while thousands of writes land must not be.
    maxSubscriptionBuffer: 100_000,
    // Never announce this PDS to a relay.
    crawlers: [],
  },
});

if (stopping) {
  await stopping;
} else {
  console.error(
    `pds-harness: PDS ${network.pds.url}, PLC ${network.plc.url}, data in ${dataRoot}, up in ${
      Date.now() - started
    } ms`,
  );
  process.stdout.write(
    JSON.stringify({
      ready: true,
      pdsUrl: network.pds.url,
      plcUrl: network.plc.url,
      adminPassword,
    }) + "\n",
  );
}
