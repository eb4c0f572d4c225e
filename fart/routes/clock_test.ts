/**
 * Time is an input: the routes take "now" from the app's clock (createApp's `clock`), so
 * that tests can run them at any instant. None may read the wall clock.
 */
import assert from "node:assert/strict";

const WALL_CLOCK = /Date\.now\(\)|new Date\(\)|performance\.now\(\)/;

Deno.test("no route module reads the wall clock", async () => {
  const readers: string[] = [];
  let files = 0;
  for await (const e of Deno.readDir(new URL(".", import.meta.url))) {
    if (!e.isFile || !e.name.endsWith(".ts") || e.name.endsWith("_test.ts")) continue;
    files++;
    const text = await Deno.readTextFile(new URL(e.name, import.meta.url));
    text.split("\n").forEach((line, k) => {
      if (WALL_CLOCK.test(line)) readers.push(`${e.name}:${k + 1}: ${line.trim()}`);
    });
  }
  assert.ok(files >= 8, `only ${files} route modules`);
  assert.deepEqual(readers, []);
});
