/**
 * `deno task start` with REDIS_CLUSTER_NODES: no local redis-server (there is none on the
 * PATH here, so trying to start one would stop the platform), and the services reach the
 * cluster with their scoped permissions. The task runs itself, with the permissions
 * deno.json gives it.
 */
import assert from "node:assert/strict";
import { startRedisCluster } from "@bsky/shared/testing/redis_cluster";
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

async function health(port: number): Promise<Record<string, unknown> | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/healthz`);
    return await res.json();
  } catch {
    return undefined;
  }
}

Deno.test("deno task start with REDIS_CLUSTER_NODES starts no local redis-server, and the services use the cluster", async () => {
  await using cluster = await startRedisCluster();
  const bin = await binWith(["bash", "dirname", "setsid"]);
  const envFile = await Deno.makeTempFile({ suffix: ".env" });
  const ports = {
    FIREHOSE_METRICS_PORT: freePort(),
    INDEXER_METRICS_PORT: freePort(),
    SCHEDULER_METRICS_PORT: freePort(),
    FART_PORT: freePort(),
    FART_METRICS_PORT: freePort(),
    SITE_PORT: freePort(),
  };
  const keep = Object.fromEntries(
    ["HOME", "DENO_DIR"].flatMap((k) => Deno.env.get(k) ? [[k, Deno.env.get(k)!]] : []),
  );
  const child = new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "start", "--env-file", envFile],
    cwd: root,
    env: {
      ...keep,
      NO_COLOR: "1",
      PATH: bin,
      REDIS_CLUSTER_NODES: cluster.nodes,
      // Nothing answers there: the firehose keeps trying, which is all this needs of it.
      FIREHOSE_URL: "ws://127.0.0.1:1",
      ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
    },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: Record<string, unknown>[] = [];
  const reading = (async () => {
    let rest = "";
    for await (const text of child.stdout.pipeThrough(new TextDecoderStream())) {
      const parts = (rest + text).split("\n");
      rest = parts.pop()!;
      for (const line of parts) if (line.trim()) lines.push(JSON.parse(line));
    }
  })();
  const stderr = new Response(child.stderr).text();
  try {
    const deadline = Date.now() + 120_000;
    let indexer: Record<string, unknown> | undefined;
    let firehose: Record<string, unknown> | undefined;
    while (Date.now() < deadline) {
      indexer = await health(ports.INDEXER_METRICS_PORT);
      firehose = await health(ports.FIREHOSE_METRICS_PORT);
      if (indexer?.redis === "ready" && firehose?.redis === "ready") break;
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal(indexer?.redis, "ready", "the indexer is connected to the cluster");
    assert.equal(firehose?.redis, "ready", "the firehose is connected to the cluster");
    assert.ok(
      lines.some((l) => l.service === "firehose" && l.msg === "Writing to a Redis Cluster"),
      "the firehose writes to the cluster",
    );
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await reading;
    await Deno.remove(bin, { recursive: true });
    await Deno.remove(envFile);
  }
  assert.equal(await stderr, "", "nothing but log lines");
  const clusterLine = lines.find((l) =>
    l.service === "start" && /Redis Cluster/.test(String(l.msg))
  );
  assert.deepEqual(clusterLine?.nodes, cluster.nodes.split(","));
  assert.ok(!lines.some((l) => /redis-server/.test(String(l.msg)) && l.msg !== clusterLine?.msg));
  assert.ok(!lines.some((l) => l.service === "redis"), "no redis-server of its own");
  for (const name of ["firehose", "indexer", "fart", "scheduler"]) {
    const started = lines.find((l) => l.msg === "Started service" && l.name === name);
    const args = (started?.args ?? []) as string[];
    const net = args.find((a) => a.startsWith("--allow-net="))!;
    for (const node of cluster.nodes.split(",")) assert.ok(net.includes(node), `${name}: ${node}`);
  }
});
