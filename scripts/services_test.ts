/** Each service, started with its own flags, stops at once on a bad setting, naming it. */
import assert from "node:assert/strict";
import { serviceArgs, SERVICES } from "./services.ts";

const root = new URL("..", import.meta.url).pathname;

for (const spec of SERVICES) {
  Deno.test(`${spec.name} exits 1 and names the variable when a setting does not parse`, async () => {
    const env = { REDIS_URL: "redis://127.0.0.1:1", FIREHOSE_PARTITIONS: "many" };
    const out = await new Deno.Command(Deno.execPath(), {
      args: serviceArgs(spec, env),
      cwd: root,
      env,
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 1);
    const line = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").pop()!);
    assert.equal(line.service, spec.name);
    assert.equal(line.level, "error");
    assert.match(line.msg, /FIREHOSE_PARTITIONS: "many" is not an integer/);
  });

  Deno.test(`${spec.name} exits 1 with a clear message when Redis cannot be reached`, async () => {
    const env = { REDIS_URL: "redis://127.0.0.1:1" };
    const out = await new Deno.Command(Deno.execPath(), {
      args: serviceArgs(spec, env),
      cwd: root,
      env,
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 1);
    const text = new TextDecoder().decode(out.stdout);
    assert.match(text, /Cannot connect to Redis at \\"redis:\/\/127.0.0.1:1\\"/);
  });
}
