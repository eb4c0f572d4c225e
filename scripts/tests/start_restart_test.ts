/**
 * `deno task start` for real, on free ports: a service and then the local redis-server are
 * killed with SIGKILL, and each is started again and answers once more, with a log line for
 * each restart; a service that can never run makes the task stop everything and exit 1.
 */
import assert from "node:assert/strict";
import { freePort, startRedisServer } from "@bsky/shared/testing/redis_server";
import { settled } from "@bsky/shared/testing/settled";
import { SERVICES, unsetNeeds } from "../services.ts";

const root = new URL("../..", import.meta.url).pathname;
type Line = Record<string, unknown>;

/** `deno task start ARGS` in a session of its own, its stdout read as JSON lines. */
function startTask(args: string[], env: Record<string, string>) {
  const keep = Object.fromEntries(
    ["HOME", "DENO_DIR", "PATH"].flatMap((k) => Deno.env.get(k) ? [[k, Deno.env.get(k)!]] : []),
  );
  const task = new Deno.Command("setsid", {
    args: [Deno.execPath(), "task", "--quiet", "start", ...args],
    cwd: root,
    env: { ...keep, NO_COLOR: "1", ...env },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: Line[] = [];
  const reading = (async () => {
    let rest = "";
    for await (const text of task.stdout.pipeThrough(new TextDecoderStream())) {
      const parts = (rest + text).split("\n");
      rest = parts.pop()!;
      for (const part of parts) if (part.trim()) lines.push(JSON.parse(part));
    }
  })();
  const stderr = new Response(task.stderr).text();
  return { task, lines, reading, stderr };
}

/** Every port a service reads, free. */
function freePorts(): Record<string, string> & { FART_PORT: string } {
  const ports: Record<string, string> = {};
  for (const spec of SERVICES) {
    for (const name of spec.env) if (name.endsWith("_PORT")) ports[name] ??= String(freePort());
  }
  return { ...ports, FART_PORT: ports.FART_PORT };
}

async function answers(url: string): Promise<number> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  await res.body?.cancel();
  return res.status;
}

/** Retries a check of the log lines read so far until it passes, for up to 30 s. */
const until = (check: () => void) => settled(() => Promise.resolve().then(check), 30_000);

function kill(pid: number, signal: Deno.Signal) {
  try {
    Deno.kill(pid, signal);
  } catch { /* gone */ }
}

Deno.test("deno task start starts a killed service and its killed redis-server again, and both answer again", async () => {
  const env = { ...freePorts(), DEMO_REDIS_PORT: String(freePort()), LOG_LEVEL: "warn" };
  const { task, lines, reading, stderr } = startTask(["--demo"], env);
  const redisPids = new Set<number>();
  const pidOf = (name: string, restarts?: number) =>
    lines.find((l) => l.msg === "Started service" && l.name === name && l.restarts === restarts)
      ?.pid as number | undefined;
  const healthy = () =>
    settled(
      async () => {
        // The services start runs: all but one left off for want of its settings (the tasker).
        for (const spec of SERVICES.filter((s) => unsetNeeds(s, env).length === 0)) {
          assert.equal(await answers(spec.health(env)), 200, spec.name);
        }
      },
      90_000,
      500,
    );
  let status: Deno.CommandStatus | undefined;
  try {
    await healthy();
    const firstRedis = lines.find((l) => /Started the demo's redis-server/.test(String(l.msg)));
    redisPids.add(firstRedis!.pid as number);

    const indexer = pidOf("indexer")!;
    kill(indexer, "SIGKILL");
    await until(() => assert.ok(pidOf("indexer", 1), "indexer started again"));
    const restart = lines.find((l) => l.msg === "Process exited: restarting it")!;
    assert.deepEqual(
      [restart.name, restart.pid, restart.signal, restart.inMs],
      ["indexer", indexer, "SIGKILL", 500],
    );
    await healthy();

    kill(firstRedis!.pid as number, "SIGKILL");
    await until(() => {
      const again = lines.find((l) => l.msg === "Started redis-server again");
      assert.ok(again, "redis-server started again");
      redisPids.add(again.pid as number);
    });
    assert.ok(
      lines.some((l) => l.msg === "Process exited: restarting it" && l.name === "redis"),
      "its restart is logged",
    );
    await healthy();

    Deno.kill(-task.pid, "SIGINT");
    status = await task.status;
  } finally {
    if (!status) {
      kill(-task.pid, "SIGKILL");
      await task.status;
      // Redis runs in a session of its own.
      for (const pid of redisPids) kill(pid, "SIGKILL");
    }
    await reading;
  }
  assert.equal(status.code, 0, `stops cleanly on Ctrl-C: ${await stderr}`);
});

Deno.test("deno task start stops everything and exits 1 when a service crashes 5 times within a minute", async () => {
  await using redis = await startRedisServer();
  const env = {
    ...freePorts(),
    REDIS_URL: redis.url,
    FIREHOSE_URL: "ws://127.0.0.1:1",
    LOG_LEVEL: "warn",
  };
  // The API's port is taken: the API can never start.
  using _held = Deno.listen({ hostname: "127.0.0.1", port: Number(env.FART_PORT) });
  const { task, lines, reading, stderr } = startTask([], env);
  const timer = setTimeout(() => kill(-task.pid, "SIGKILL"), 120_000);
  const status = await task.status;
  clearTimeout(timer);
  await reading;
  assert.equal(status.code, 1, await stderr);
  const restarts = lines.filter((l) => l.msg === "Process exited: restarting it");
  assert.deepEqual(restarts.map((l) => [l.name, l.code, l.inMs]), [
    ["fart", 1, 500],
    ["fart", 1, 1000],
    ["fart", 1, 2000],
    ["fart", 1, 4000],
  ]);
  const giveUp = lines.findIndex((l) => /^Cannot keep fart running/.test(String(l.msg)));
  assert.ok(giveUp > 0, "a line says why it stops");
  assert.equal(
    lines[giveUp].msg,
    "Cannot keep fart running: it crashed 5 times within a minute; stopping the platform",
  );
  assert.equal(lines[giveUp].level, "error");
  // Every other service was stopped, cleanly.
  for (const spec of SERVICES.filter((s) => s.name !== "fart" && !unsetNeeds(s, env).length)) {
    const exit = lines.slice(giveUp).find((l) =>
      l.msg === "Service exited" && l.name === spec.name
    );
    assert.equal(exit?.code, 0, `${spec.name} stopped: ${JSON.stringify(exit)}`);
  }
});
