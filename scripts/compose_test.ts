/**
 * compose.yaml and the Dockerfile cannot run here (no Docker engine), so keep them honest by
 * reading them, and run the image's entrypoint for real with each container's environment.
 */
import assert from "node:assert/strict";
import { serverArgs } from "@bsky/shared/redis_settings";
import { freePort, startRedisServer } from "@bsky/shared/testing/redis_server";
import { serviceArgs, SERVICES, type ServiceSpec } from "./services.ts";
import { parseCompose, type Yaml } from "./testing/compose_file.ts";
import { exampleEnv } from "./testing/example_env.ts";
import { signal } from "./testing/child.ts";

const root = new URL("..", import.meta.url).pathname;
const compose = parseCompose(await Deno.readTextFile(`${root}compose.yaml`));
const services = compose.services as Record<string, Record<string, Yaml>>;
const dockerfile = await Deno.readTextFile(`${root}Dockerfile`);

/** A container's environment, as compose.yaml gives it (nothing set on the host). */
function envOf(name: string): Record<string, string> {
  return services[name].environment as Record<string, string>;
}

/** The Dockerfile's instructions, comments and line continuations resolved. */
function instructions(): { op: string; args: string }[] {
  return dockerfile.replace(/\\\n/g, " ").split("\n").map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"))
    .map((l) => {
      const [op, ...rest] = l.split(/\s+/);
      return { op: op.toUpperCase(), args: rest.join(" ") };
    });
}

Deno.test("parseCompose() resolves anchors, merges and defaults as Docker Compose does", () => {
  const text = [
    "x-base: &base",
    "  build: .",
    "  environment: &env",
    "    A: a",
    "    B: ${B:-b}",
    "services:",
    "  one:",
    "    <<: *base",
    "    environment:",
    "      C: c",
    "      <<: *env",
    "      A: own",
    "    command: [one, \"two words\", '']",
    "    ports:",
    '      - "1:1"',
  ].join("\n");
  assert.deepEqual(parseCompose(text).services, {
    one: {
      build: ".",
      environment: { C: "c", A: "own", B: "b" },
      command: ["one", "two words", ""],
      ports: ["1:1"],
    },
  });
  assert.throws(() => parseCompose("a:\n  - {b: 1}\n"), /line 2/);
});

Deno.test("compose.yaml builds each service of scripts/services.ts from the Dockerfile and starts it by name", () => {
  assert.deepEqual(
    Object.keys(services).filter((name) => name !== "redis").sort(),
    SERVICES.map((s) => s.name).sort(),
  );
  for (const spec of SERVICES) {
    const service = services[spec.name];
    assert.equal(service.build, ".", `${spec.name} is built from the Dockerfile`);
    assert.equal(service.image, undefined, `${spec.name} runs no stock image`);
    assert.equal(service.volumes, undefined, `${spec.name} mounts no source`);
    assert.deepEqual(service.command, [spec.name]);
  }
});

Deno.test("the Dockerfile installs from the lock file with --frozen and runs as a non-root user, through scripts/run_service.sh", async () => {
  const steps = instructions();
  const ci = await Deno.readTextFile(`${root}.ci/run`);
  const version = ci.match(/deno@(\d+\.\d+\.\d+)/)![1];
  assert.equal(steps[0].op, "FROM");
  assert.equal(steps[0].args, `denoland/deno:${version}`, "the Deno that CI tests with");
  const install = steps.findIndex((s) => s.op === "RUN" && /^deno install --frozen$/.test(s.args));
  assert.ok(install > 0, "RUN deno install --frozen");
  const users = steps.filter((s) => s.op === "USER");
  assert.ok(users.length > 0, "a USER");
  assert.ok(!/^(root|0)(:|$)/.test(users.at(-1)!.args), `runs as "${users.at(-1)!.args}"`);
  assert.ok(steps.findIndex((s) => s.op === "USER") < install, "dependencies belong to that user");
  const entrypoint = steps.find((s) => s.op === "ENTRYPOINT")!;
  assert.deepEqual(JSON.parse(entrypoint.args), ["sh", "scripts/run_service.sh"]);
  assert.ok(steps.every((s) => s.op !== "CMD"), "compose.yaml names the service to run");
});

Deno.test(".dockerignore keeps settings files, git and installed dependencies out of the image", async () => {
  const ignored = (await Deno.readTextFile(`${root}.dockerignore`)).split("\n").map((l) =>
    l.trim()
  );
  for (const path of [".env", "*.env", ".git", "node_modules", ".cache", ".data"]) {
    assert.ok(ignored.includes(path), path);
  }
});

Deno.test("compose.yaml lets each container reach Redis, publishes the port its flags let it listen on, and health-checks it there", () => {
  for (const spec of SERVICES) {
    const env = envOf(spec.name);
    const net = serviceArgs(spec, env).find((a) => a.startsWith("--allow-net="))!.split("=")[1]
      .split(",");
    if (spec.env.includes("REDIS_URL")) assert.ok(net.includes("redis:6379"), spec.name);
    const ports = services[spec.name].ports as string[];
    assert.equal(ports.length, 1, spec.name);
    const [published, inside] = ports[0].split(":");
    assert.ok(net.includes(`0.0.0.0:${inside}`), `${spec.name} listens on ${inside}`);
    assert.equal(published, inside, spec.name);
    const test = (services[spec.name].healthcheck as Record<string, string[]>).test;
    const url = test.join(" ").match(/fetch\('([^']+)'\)/)?.[1];
    assert.equal(url, spec.health(env), `${spec.name}'s healthcheck`);
  }
});

Deno.test("compose.yaml has every service listen on all addresses (BIND_HOST), which outside a container it does not by default", () => {
  const allowNet = (spec: ServiceSpec, env: Record<string, string>) =>
    serviceArgs(spec, env).find((a) => a.startsWith("--allow-net="))!.split("=")[1].split(",");
  for (const spec of SERVICES) {
    assert.ok(spec.env.includes("BIND_HOST"), `${spec.name} reads BIND_HOST`);
    const env = envOf(spec.name);
    assert.equal(env.BIND_HOST, "0.0.0.0", `${spec.name}'s container sets BIND_HOST`);
    const inside = (services[spec.name].ports as string[])[0].split(":")[1];
    // The same service run with the defaults may listen on loopback only.
    const local = allowNet(spec, { ...env, BIND_HOST: "" });
    assert.ok(local.includes(`127.0.0.1:${inside}`), `${spec.name}: ${local}`);
    assert.ok(!local.some((h) => h.startsWith("0.0.0.0:")), `${spec.name}: ${local}`);
    assert.equal(spec.health({ ...env, BIND_HOST: "" }), spec.health(env));
  }
});

Deno.test("compose.yaml starts the tasker only when asked (its profile), since it needs an account to post from", () => {
  for (const spec of SERVICES) {
    const profiles = services[spec.name].profiles;
    assert.deepEqual(profiles, spec.needs ? [spec.name] : undefined, spec.name);
  }
  const env = envOf("tasker");
  assert.equal(env.TASKER_IDENTIFIER, "", "taken from .env beside compose.yaml");
  assert.equal(env.FART_URL, "http://fart:8000");
});

Deno.test("compose.yaml runs Redis with AOF persistence on a volume", () => {
  const redis = services.redis;
  assert.deepEqual((redis.command as string[]).slice(0, 3), [
    "redis-server",
    "--appendonly",
    "yes",
  ]);
  assert.deepEqual(redis.volumes, ["redis-data:/data"]);
  // With the settings every redis-server of the platform runs with.
  const command = (redis.command as string[]).join(" ");
  for (const arg of serverArgs().join(" ").split(" --")) assert.ok(command.includes(arg), arg);
});

/** The command line of a process, from /proc. */
async function cmdline(pid: number): Promise<string[]> {
  const text = await Deno.readTextFile(`/proc/${pid}/cmdline`).catch(() => "");
  return text.split("\0").slice(0, -1);
}

/**
 * A container's environment made runnable here: Redis, the API and every port local, the
 * rest as compose.yaml says.
 */
function localEnv(spec: ServiceSpec, redisUrl: string): Record<string, string> {
  const env: Record<string, string> = {
    ...envOf(spec.name),
    ...exampleEnv(spec),
    REDIS_URL: redisUrl,
  };
  for (const name of Object.keys(env)) if (name.endsWith("_PORT")) env[name] = String(freePort());
  if (env.FART_URL) env.FART_URL = `http://127.0.0.1:${freePort()}`;
  return env;
}

for (const spec of SERVICES) {
  Deno.test(`the image's entrypoint starts ${spec.name} with the flags deno task start would give it`, async () => {
    await using redis = await startRedisServer();
    const env = localEnv(spec, redis.url);
    const child = new Deno.Command("sh", {
      args: ["scripts/run_service.sh", ...services[spec.name].command as string[]],
      cwd: root,
      env: {
        ...env,
        PATH: Deno.env.get("PATH")!,
        HOME: Deno.env.get("HOME") ?? "/",
        ...(Deno.env.get("DENO_DIR") ? { DENO_DIR: Deno.env.get("DENO_DIR")! } : {}),
      },
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const output = Promise.all([child.stdout, child.stderr].map((s) => new Response(s).text()));
    let running = true, reported = false;
    const status = child.status.finally(() => running = false);
    /** Stops the service (when it still runs): its exit code and what it printed. */
    const stop = async () => {
      if (running) signal(child, "SIGTERM");
      const [{ code }, [stdout, stderr]] = await Promise.all([status, output]);
      return { code, printed: `${stdout}\n${stderr}` };
    };
    try {
      // Where the compose healthcheck asks: the service answers once it is up.
      const deadline = Date.now() + 30_000;
      let answered = false;
      while (!answered && running && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
        answered = await fetch(spec.health(env)).then(async (r) => (await r.body?.cancel(), true))
          .catch(() => false);
      }
      if (!answered) {
        const exited = !running;
        const { code, printed } = await stop();
        reported = true;
        assert.fail(
          `${spec.name} does not answer at ${spec.health(env)}: ${
            exited ? `it exited with code ${code}` : "not within 30 s"
          }\n${printed}`,
        );
      }
      // The shell gave its place to the service, so the container's signals reach it.
      assert.deepEqual(await cmdline(child.pid), ["deno", ...serviceArgs(spec, env)]);
    } finally {
      const wasRunning = running;
      const { code, printed } = await stop();
      // One that stopped by itself after it answered fails too.
      if (!reported) {
        assert.equal(
          code,
          0,
          `${spec.name} ${
            wasRunning ? "stops cleanly on SIGTERM" : "stopped by itself"
          }:\n${printed}`,
        );
      }
    }
  });
}
