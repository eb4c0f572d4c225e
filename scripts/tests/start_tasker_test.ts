/**
 * `deno task start` and the tasker, for real: without TASKER_IDENTIFIER the tasker is off and
 * one line says so; with it, the tasker runs in its own process with its own scoped flags
 * (Redis, its PDS's host, the API and its own port, as scripts/services.ts gives them).
 */
import assert from "node:assert/strict";
import { freePort, startRedisServer } from "@bsky/shared/testing/redis_server";
import { serviceArgs, SERVICES } from "../services.ts";

const root = new URL("../..", import.meta.url).pathname;

/** Runs `deno task start` in a session of its own until `done(lines)`, then stops it. */
async function startUntil(
  env: Record<string, string>,
  done: (lines: Record<string, unknown>[]) => boolean,
): Promise<Record<string, unknown>[]> {
  const envFile = await Deno.makeTempFile({ suffix: ".env" });
  const task = new Deno.Command("setsid", {
    args: [Deno.execPath(), "task", "--quiet", "start", "--env-file", envFile],
    cwd: root,
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const lines: Record<string, unknown>[] = [];
  const reading = (async () => {
    let rest = "";
    for await (const text of task.stdout.pipeThrough(new TextDecoderStream())) {
      const parts = (rest + text).split("\n");
      rest = parts.pop()!;
      for (const line of parts) if (line.trim()) lines.push(JSON.parse(line));
    }
  })();
  try {
    const deadline = Date.now() + 60_000;
    while (!done(lines) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    return lines;
  } finally {
    try {
      Deno.kill(-task.pid, "SIGINT");
    } catch { /* gone */ }
    const stopping = setTimeout(() => {
      try {
        Deno.kill(-task.pid, "SIGKILL");
      } catch { /* gone */ }
    }, 30_000);
    await task.status;
    clearTimeout(stopping);
    await reading;
    await Deno.remove(envFile);
  }
}

Deno.test("deno task start leaves the tasker off without TASKER_IDENTIFIER, in one line, and runs it with its own scoped flags with it", async () => {
  await using redis = await startRedisServer();
  const env: Record<string, string> = {
    PATH: Deno.env.get("PATH")!,
    HOME: Deno.env.get("HOME") ?? "/",
    ...(Deno.env.get("DENO_DIR") ? { DENO_DIR: Deno.env.get("DENO_DIR")! } : {}),
    REDIS_URL: redis.url,
    // Nothing answers there: the firehose retries, which is all this test needs of it.
    FIREHOSE_URL: `ws://127.0.0.1:${freePort()}`,
  };
  for (const spec of SERVICES) {
    for (const name of spec.env) if (name.endsWith("_PORT")) env[name] ??= String(freePort());
  }
  const started = (lines: Record<string, unknown>[], name: string) =>
    lines.find((l) => l.service === "start" && l.msg === "Started service" && l.name === name);
  const others = SERVICES.filter((s) => s.name !== "tasker");

  const off = await startUntil(env, (lines) => others.every((s) => started(lines, s.name)));
  const said = off.filter((l) => l.service === "start" && l.name === "tasker");
  assert.deepEqual(said.map((l) => l.msg), ["The tasker is off: TASKER_IDENTIFIER is not set"]);
  for (const spec of others) assert.ok(started(off, spec.name), `${spec.name} started`);

  const bot = {
    TASKER_IDENTIFIER: "circles-bot.example.com",
    TASKER_APP_PASSWORD: "abcd-efgh-ijkl-mnop",
    TASKER_SERVICE_URL: `http://127.0.0.1:${freePort()}`,
  };
  const on = await startUntil({ ...env, ...bot }, (lines) => !!started(lines, "tasker"));
  const tasker = SERVICES.find((s) => s.name === "tasker")!;
  // start points the services at its own API, on FART_PORT.
  const expected = serviceArgs(tasker, {
    ...env,
    ...bot,
    FART_URL: `http://127.0.0.1:${env.FART_PORT}`,
  });
  assert.deepEqual(started(on, "tasker")!.args, expected.slice(0, -1));
  const net = expected.find((a) => a.startsWith("--allow-net="))!.split("=")[1].split(",");
  assert.deepEqual(net, [
    `127.0.0.1:${redis.port}`,
    bot.TASKER_SERVICE_URL.slice("http://".length),
    `127.0.0.1:${env.FART_PORT}`,
    `127.0.0.1:${env.TASKER_METRICS_PORT}`,
  ]);
  assert.ok(!on.some((l) => / is off: /.test(String(l.msg))));
});
