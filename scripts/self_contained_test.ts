/**
 * The repository stands alone: a clone with nothing beside it must pass its own tests, so no
 * source file may name a relative path that leads out of the repository (such as a folder
 * beside the checkout that only some machines have).
 */
import assert from "node:assert/strict";
import { dirname, join, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = normalize(join(dirname(fileURLToPath(import.meta.url)), ".."));

/** Relative paths in string literals that resolve outside `root`, as "file: literal". */
export function pathsLeavingRepo(files: Map<string, string>): string[] {
  const out: string[] = [];
  const literal = /["'`]((?:\.\.\/)+[^"'`\s]*)["'`]/g;
  for (const [file, text] of files) {
    for (const [, spec] of text.matchAll(literal)) {
      const target = normalize(join(root, dirname(file), spec));
      if (relative(root, target).startsWith("..")) out.push(`${file}: ${spec}`);
    }
  }
  return out;
}

async function trackedSources(): Promise<Map<string, string>> {
  const { stdout } = await new Deno.Command("git", {
    args: ["ls-files", "--cached", "--others", "--exclude-standard"],
    cwd: root,
  }).output();
  const files = new Map<string, string>();
  for (const file of new TextDecoder().decode(stdout).split("\n")) {
    if (!/\.(ts|tsx|mjs|js|sh)$/.test(file)) continue;
    try {
      files.set(file, await Deno.readTextFile(join(root, file)));
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err; // deleted in the work tree
    }
  }
  return files;
}

Deno.test("pathsLeavingRepo() finds a path to a folder beside the checkout", () => {
  const files = new Map([
    // Built, so that this file does not hold the path it looks for.
    ["firehose/a_test.ts", `new URL("${"../".repeat(2)}shared/testdata/x", import.meta.url)`],
    ["firehose/b_test.ts", 'new URL("../testdata/x", import.meta.url)'],
  ]);
  assert.deepEqual(pathsLeavingRepo(files), ["firehose/a_test.ts: ../../shared/testdata/x"]);
});

Deno.test("no source file of the repository reads outside it", async () => {
  const files = await trackedSources();
  assert.ok(files.size > 50, `only ${files.size} source files found`);
  assert.deepEqual(pathsLeavingRepo(files), []);
});
