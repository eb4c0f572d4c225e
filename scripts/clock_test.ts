/**
 * Time is an input: the store's layout, write path, queries, roll-up and retention, the
 * scheduler's jobs and the API's routes take "now" from their caller (a service's Clock,
 * shared/clock.ts), so that tests can run them at any instant. None may read the wall clock.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const WALL_CLOCK = /Date\.now\(\)|new Date\(\)|performance\.now\(\)/;

/** The files of logic that depends on time. */
async function timeDependentFiles(): Promise<string[]> {
  const files = [
    "store/layout.ts",
    "store/apply.ts",
    "store/apply_script.ts",
    "store/queries.ts",
    "store/rollup.ts",
    "store/profiles.ts",
    "scheduler/jobs.ts",
    "fart/routes.ts",
  ];
  for await (const e of Deno.readDir(join(root, "scheduler/jobs"))) {
    if (e.isFile && e.name.endsWith(".ts") && !e.name.endsWith("_test.ts")) {
      files.push(`scheduler/jobs/${e.name}`);
    }
  }
  return files;
}

Deno.test("no module of the store, the roll-up, the queries, the jobs or the API's routes reads the wall clock", async () => {
  const files = await timeDependentFiles();
  assert.ok(files.length >= 13, `only ${files.length} files`);
  const readers: string[] = [];
  for (const file of files) {
    const lines = (await Deno.readTextFile(join(root, file))).split("\n");
    lines.forEach((line, k) => {
      if (WALL_CLOCK.test(line)) readers.push(`${file}:${k + 1}: ${line.trim()}`);
    });
  }
  assert.deepEqual(readers, []);
});
