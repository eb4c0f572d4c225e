/**
 * `deno task start` before any service runs: it finds (or names how to install) redis-server and
 * reads its settings file. Each test runs the task itself, with the permissions deno.json gives it.
 */
import assert from "node:assert/strict";
import { freePort } from "@bsky/shared/testing/redis_server";

const root = new URL("..", import.meta.url).pathname;

/** A folder of links to these programs only, to use as the whole PATH. */
async function binWith(programs: string[]): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "start-path-" });
  for (const program of programs) {
    const { stdout } = await new Deno.Command("bash", { args: ["-c", `command -v ${program}`] })
      .output();
    const path = new TextDecoder().decode(stdout).trim();
    assert.ok(path.startsWith("/"), `${program} is installed here`);
    await Deno.symlink(path, `${dir}/${program}`);
  }
  return dir;
}

interface Run {
  code: number;
  lines: Record<string, unknown>[];
  stderr: string;
}

/** Runs `deno task start` with only `env` (plus HOME and DENO_DIR) and these arguments. */
async function start(args: string[], env: Record<string, string>): Promise<Run> {
  const keep = Object.fromEntries(
    ["HOME", "DENO_DIR"].flatMap((k) => Deno.env.get(k) ? [[k, Deno.env.get(k)!]] : []),
  );
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "start", ...args],
    cwd: root,
    env: { ...keep, NO_COLOR: "1", ...env },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout).trim();
  const lines = stdout ? stdout.split("\n").map((line) => JSON.parse(line)) : [];
  return { code: out.code, lines, stderr: new TextDecoder().decode(out.stderr) };
}

/** A settings file with this text, removed after `fn`. */
async function withFile(text: string, fn: (path: string) => Promise<void>) {
  const path = await Deno.makeTempFile({ suffix: ".env" });
  try {
    await Deno.writeTextFile(path, text);
    await fn(path);
  } finally {
    await Deno.remove(path);
  }
}

Deno.test("deno task start without redis-server on the PATH names the command that installs it and exits 1, with no stack trace", async () => {
  // No redis-server and no apt-get: nothing can be installed.
  const bin = await binWith(["bash", "dirname", "setsid"]);
  try {
    await withFile("", async (envFile) => {
      const run = await start(["--env-file", envFile], { PATH: bin });
      assert.equal(run.code, 1, run.stderr);
      assert.equal(run.stderr, "", "nothing but log lines");
      const last = run.lines.at(-1)!;
      assert.equal(last.level, "error");
      assert.equal(last.service, "start");
      assert.match(
        String(last.msg),
        /^Cannot start a local redis-server: it is not installed; install it with `(sudo )?apt-get install -y redis-server` or set REDIS_URL/,
      );
      assert.ok(
        run.lines.some((l) => /installing it with scripts\/ensure_tools.sh/.test(String(l.msg))),
        "it says what it tries first",
      );
      assert.ok(!JSON.stringify(run.lines).includes("    at "), "no stack trace");
    });
  } finally {
    await Deno.remove(bin, { recursive: true });
  }
});

Deno.test("deno task start with redis-server on the PATH goes on to start it", async () => {
  const bin = await binWith(["bash", "dirname", "setsid", "redis-server"]);
  // The demo's Redis port is held here, so the task stops right after finding redis-server.
  const port = freePort();
  const held = Deno.listen({ hostname: "127.0.0.1", port });
  try {
    await withFile("", async (envFile) => {
      const run = await start(["--demo", "--env-file", envFile], {
        PATH: bin,
        DEMO_REDIS_PORT: String(port),
      });
      assert.equal(run.code, 1, run.stderr);
      assert.ok(!run.lines.some((l) => /not installed/.test(String(l.msg))), "found at once");
      assert.equal(
        run.lines.at(-1)!.msg,
        `Cannot start a local redis-server: port ${port} is in use`,
      );
    });
  } finally {
    held.close();
    await Deno.remove(bin, { recursive: true });
  }
});

Deno.test("deno task start takes settings from --env-file, and a variable set in the environment wins", async () => {
  const text = "# the demo's Redis\nDEMO_REDIS_PORT=seventy\nLOG_LEVEL=debug\n";
  await withFile(text, async (envFile) => {
    const fromFile = await start(["--demo", "--env-file", envFile], {
      PATH: Deno.env.get("PATH")!,
    });
    assert.equal(fromFile.code, 1, fromFile.stderr);
    const read = fromFile.lines.find((l) => l.msg === "Read settings from a file")!;
    assert.deepEqual(read, { ...read, file: envFile, taken: ["DEMO_REDIS_PORT", "LOG_LEVEL"] });
    assert.equal(
      fromFile.lines.at(-1)!.msg,
      'Cannot parse DEMO_REDIS_PORT: "seventy" is not a port',
    );

    const fromEnv = await start(["--demo", "--env-file", envFile], {
      PATH: Deno.env.get("PATH")!,
      DEMO_REDIS_PORT: "eighty",
    });
    assert.equal(fromEnv.code, 1, fromEnv.stderr);
    const kept = fromEnv.lines.find((l) => l.msg === "Read settings from a file")!;
    assert.deepEqual([kept.taken, kept.kept], [["LOG_LEVEL"], ["DEMO_REDIS_PORT"]]);
    assert.equal(fromEnv.lines.at(-1)!.msg, 'Cannot parse DEMO_REDIS_PORT: "eighty" is not a port');
  });
});

Deno.test("deno task start refuses a settings file that is missing or does not parse, naming it", async () => {
  const env = { PATH: Deno.env.get("PATH")!, DEMO_REDIS_PORT: "none" };
  const missing = await start(["--demo", "--env-file", "/nonexistent/prod.env"], env);
  assert.equal(missing.code, 1);
  assert.equal(
    missing.lines.at(-1)!.msg,
    'Cannot read settings: "/nonexistent/prod.env" does not exist',
  );
  await withFile("A=1\nnot a setting\n", async (envFile) => {
    const bad = await start(["--demo", "--env-file", envFile], env);
    assert.equal(bad.code, 1);
    assert.equal(
      bad.lines.at(-1)!.msg,
      `Cannot read settings from "${envFile}": Cannot parse env file: line 2 "not a setting" is not NAME=value`,
    );
  });
});

Deno.test("deno task start reads .env at the repository root when no --env-file is given", async () => {
  const path = `${root}.env`;
  // Another .env stays as it is; a test's own holds no setting, so nothing else that
  // starts meanwhile changes.
  const ours = await Deno.writeTextFile(path, "# settings of the platform\n", { createNew: true })
    .then(() => true, (err) => {
      if (err instanceof Deno.errors.AlreadyExists) return false;
      throw err;
    });
  try {
    const run = await start(["--demo"], { PATH: Deno.env.get("PATH")!, DEMO_REDIS_PORT: "none" });
    assert.equal(run.code, 1, run.stderr);
    const read = run.lines.find((l) => l.msg === "Read settings from a file");
    assert.equal(read?.file, path);
  } finally {
    if (ours) await Deno.remove(path);
  }
});
