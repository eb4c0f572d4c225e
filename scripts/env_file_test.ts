import assert from "node:assert/strict";
import { applyEnvFile, parseEnvFile } from "./env_file.ts";

const root = new URL("..", import.meta.url).pathname;

Deno.test("parseEnvFile() reads NAME=value lines and refuses anything else, naming the line", () => {
  assert.deepEqual(
    parseEnvFile("A=1\n\n# c\nexport B='x y'\nC=\"q\" \nD=v # note\nA=2\n"),
    { A: "1", B: "x y", C: "q", D: "v" },
  );
  assert.throws(() => parseEnvFile("A=1\nnot a line\n"), /line 2 "not a line" is not NAME=value/);
});

Deno.test("applyEnvFile() adds the file's variables the environment leaves unset, and nothing when there is no file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/.env`, "FART_PORT=9000\nLOG_LEVEL=debug\nSITE_PORT=9090\n");
    const env: Record<string, string | undefined> = { FART_PORT: "7000", SITE_PORT: "" };
    assert.deepEqual(await applyEnvFile(`${dir}/.env`, env), {
      found: true,
      taken: ["LOG_LEVEL", "SITE_PORT"],
      kept: ["FART_PORT"],
    });
    // An empty value counts as unset, as in every service's config.
    assert.deepEqual(env, { FART_PORT: "7000", LOG_LEVEL: "debug", SITE_PORT: "9090" });

    const untouched = { FART_PORT: "7000" };
    assert.deepEqual(await applyEnvFile(`${dir}/missing.env`, untouched), {
      found: false,
      taken: [],
      kept: [],
    });
    assert.deepEqual(untouched, { FART_PORT: "7000" });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("git ignores .env and other settings files, but not .env.example", async () => {
  const ignored = async (path: string) =>
    (await new Deno.Command("git", { args: ["check-ignore", "-q", path], cwd: root }).output())
      .code === 0;
  assert.equal(await ignored(".env"), true);
  assert.equal(await ignored("prod.env"), true);
  assert.equal(await ignored(".env.example"), false);
});

Deno.test(".env.example copied to .env leaves deno task start running its own Redis and pointing the site at its own API", async () => {
  const env: Record<string, string | undefined> = {};
  const read = await applyEnvFile(`${root}.env.example`, env);
  assert.ok(read.taken.length >= 40, "every setting is listed");
  // start runs a local redis-server only without REDIS_URL, and sets FART_URL from FART_PORT
  // only when it is unset.
  assert.equal(env.REDIS_URL, "");
  assert.equal(env.FART_URL, "");
});
