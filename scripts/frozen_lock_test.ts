/**
 * Dependencies come from deno.lock exactly: CI installs with `deno install --frozen` and
 * `deno task check` (part of `deno task ok`) runs with --frozen, so a dependency changed
 * without its lock entry fails instead of being resolved afresh.
 */
import assert from "node:assert/strict";

const root = new URL("..", import.meta.url).pathname;
const config = JSON.parse(await Deno.readTextFile(`${root}deno.json`));

/** The commands of a shell script, without comments and blank lines. */
function commands(text: string): string[] {
  return text.split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
}

Deno.test(".ci/run installs the dependencies from the lock file with --frozen before the tests", async () => {
  const lines = commands(await Deno.readTextFile(`${root}.ci/run`));
  const install = lines.findIndex((l) => /^deno install --frozen(=true)?$/.test(l));
  const tests = lines.indexOf("deno task ok");
  assert.ok(install >= 0, "deno install --frozen");
  assert.ok(tests > install, "then the README's test command");
});

Deno.test("deno task check type-checks every workspace member and scripts/ with the lock file frozen", () => {
  const words: string[] = config.tasks.check.command.split(/\s+/);
  assert.deepEqual(words.slice(0, 3), ["deno", "check", "--frozen"]);
  const members = config.workspace.map((m: string) => m.replace(/^\.\//, ""));
  assert.deepEqual([...words.slice(3)].sort(), [...members, "scripts"].sort());
  assert.match(config.tasks.ok.command, /deno task check/);
});

/** A copy of the workspace's configuration and lock file, in a folder of its own. */
async function workspaceCopy(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "frozen-lock-" });
  await Deno.copyFile(`${root}deno.json`, `${dir}/deno.json`);
  await Deno.copyFile(`${root}deno.lock`, `${dir}/deno.lock`);
  for (const member of config.workspace as string[]) {
    await Deno.mkdir(`${dir}/${member}`, { recursive: true });
    await Deno.copyFile(`${root}${member}/deno.json`, `${dir}/${member}/deno.json`);
  }
  return dir;
}

async function frozenInstall(dir: string) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["install", "--frozen", "--lockfile-only"],
    cwd: dir,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("deno install --frozen accepts deno.lock as it is and refuses a dependency changed without it", async () => {
  const dir = await workspaceCopy();
  try {
    const ok = await frozenInstall(dir);
    assert.equal(ok.code, 0, ok.stderr);

    // One dependency loosened to a range, with the lock file left as it was.
    const [name, specifier] = Object.entries(config.imports as Record<string, string>)
      .find(([, s]) => /^npm:.+@\d+\.\d+\.\d+$/.test(s))!;
    const changed = specifier.replace(/@(\d+\.\d+\.\d+)$/, "@^$1");
    const text = await Deno.readTextFile(`${dir}/deno.json`);
    await Deno.writeTextFile(`${dir}/deno.json`, text.replace(`"${specifier}"`, `"${changed}"`));
    const refused = await frozenInstall(dir);
    assert.notEqual(refused.code, 0, `${name} changed to ${changed}`);
    assert.match(refused.stderr, /The lockfile is out of date/);
    assert.equal(
      await Deno.readTextFile(`${dir}/deno.lock`),
      await Deno.readTextFile(`${root}deno.lock`),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
