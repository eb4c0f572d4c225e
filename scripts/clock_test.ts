/**
 * Time is an input: the store's layout, write path, queries, roll-up and retention, the
 * scheduler's jobs and the API's routes take "now" from their caller (a service's Clock,
 * shared/clock.ts), so that tests can run them at any instant. None may read the wall clock.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const WALL_CLOCK = /Date\.now\(\)|new Date\(\)|performance\.now\(\)|'TIME'|"TIME"/;

/**
 * Reads that are meant: the record memory's keys expire on Redis's clock, so whether a span is
 * already past its expiry is judged by that same clock; a backfill's hold is a lease, taken and
 * checked on Redis's clock like a lock's expiry.
 */
const ALLOWED = new Set([
  "store/scripts/apply.lua: local clock = tonumber(redis.call('TIME')[1])",
  "store/backfill.ts: local now = tonumber(redis.call('TIME')[1])",
]);

/** Folders whose modules are logic that depends on time (tests, test helpers and benches aside). */
const TIME_DEPENDENT = ["store", "scheduler/jobs", "fart/routes"];
const SINGLE_FILES = ["scheduler/jobs.ts", "fart/routes.ts"];

async function* sources(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(join(root, dir))) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory && !["tests", "testing", "bench"].includes(e.name)) yield* sources(path);
    if (e.isFile && /\.(ts|tsx|lua)$/.test(e.name) && !/_test\.tsx?$/.test(e.name)) yield path;
  }
}

/** The files of logic that depends on time. */
async function timeDependentFiles(): Promise<string[]> {
  const files: string[] = [];
  for (const file of SINGLE_FILES) {
    if (await Deno.stat(join(root, file)).then(() => true, () => false)) files.push(file);
  }
  for (const dir of TIME_DEPENDENT) for await (const file of sources(dir)) files.push(file);
  return files;
}

Deno.test("no module of the store, the roll-up, the queries, the jobs or the API's routes reads the wall clock", async () => {
  const files = await timeDependentFiles();
  assert.ok(files.length >= 25, `only ${files.length} files`);
  const readers: string[] = [];
  for (const file of files) {
    const lines = (await Deno.readTextFile(join(root, file))).split("\n");
    lines.forEach((line, k) => {
      if (WALL_CLOCK.test(line) && !ALLOWED.has(`${file}: ${line.trim()}`)) {
        readers.push(`${file}:${k + 1}: ${line.trim()}`);
      }
    });
  }
  assert.deepEqual(readers, []);
  // The walk reaches the store's write path, its scripts and the API's routes.
  for (const file of ["store/apply.ts", "store/scripts/apply.lua", "store/interactions.ts"]) {
    assert.ok(files.includes(file), file);
  }
});
