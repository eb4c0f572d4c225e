/**
 * `deno compile` cannot run here (it downloads the runtime), so this checks what
 * `deno task compile --print` would run: the same flags as `deno task start`, per service.
 */
import assert from "node:assert/strict";
import { serviceArgs, SERVICES } from "./services.ts";

const root = new URL("..", import.meta.url).pathname;

/** Runs `deno task compile` with `args` and the environment changed by `env`. */
async function compileTask(args: string[], env: Record<string, string>) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "compile", ...args],
    cwd: root,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return text.trim().split("\n");
}

/** Splits a printed command line into its words (single-quoted words may hold anything). */
function words(line: string): string[] {
  return [...line.matchAll(/'((?:[^']|'"'"')*)'|(\S+)/g)].map((m) =>
    m[1] !== undefined ? m[1].replaceAll(`'"'"'`, "'") : m[2]
  );
}

/** What `deno task compile --print` must print for a service, from serviceArgs alone. */
function expected(name: string, env: Record<string, string | undefined>): string[] {
  const spec = SERVICES.find((s) => s.name === name)!;
  const run = serviceArgs(spec, env);
  return [
    "deno",
    "compile",
    ...run.slice(2, -1),
    ...(spec.include ?? []).flatMap((p) => ["--include", p]),
    "--output",
    `dist/${spec.name}`,
    spec.entry,
  ];
}

const ENV = {
  REDIS_URL: "redis://redis.internal:6390",
  FIREHOSE_URL: "wss://relay.example.com",
  FIREHOSE_METRICS_PORT: "9101",
  INDEXER_METRICS_PORT: "9102",
  FART_PORT: "9100",
};

Deno.test("deno task compile --print gives each service exactly its deno task start flags", async () => {
  const lines = await compileTask(["--print"], ENV);
  assert.equal(lines.length, SERVICES.length);
  const env = { ...Deno.env.toObject(), ...ENV };
  for (const [i, spec] of SERVICES.entries()) {
    const printed = words(lines[i]);
    assert.deepEqual(printed, expected(spec.name, env));
    const run = serviceArgs(spec, env);
    const flags = printed.filter((w) => w.startsWith("--allow-") || w.startsWith("--unstable-"));
    assert.deepEqual(
      flags,
      run.filter((w) => w.startsWith("--allow-") || w.startsWith("--unstable-")),
    );
  }
  assert.match(
    lines[0],
    /--allow-net=redis\.internal:6390,relay\.example\.com:443,0\.0\.0\.0:9101 /,
  );
});

Deno.test("deno task compile --env-file takes the hosts and ports from the file, not the environment", async () => {
  const file = await Deno.makeTempFile({ suffix: ".env" });
  try {
    await Deno.writeTextFile(
      file,
      '# production\nREDIS_URL="redis://10.0.0.5:6379"\nexport FART_PORT=8080 # the API\n',
    );
    const lines = await compileTask(["--print", "--env-file", file], ENV);
    const fileEnv = { REDIS_URL: "redis://10.0.0.5:6379", FART_PORT: "8080" };
    for (const [i, spec] of SERVICES.entries()) {
      assert.deepEqual(words(lines[i]), expected(spec.name, fileEnv));
      assert.ok(!lines[i].includes("redis.internal"), lines[i]);
    }
  } finally {
    await Deno.remove(file);
  }
});
