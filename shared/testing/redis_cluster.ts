/**
 * A real Redis Cluster on loopback for tests and benchmarks, from Debian's redis-server and
 * redis-cli: 3 masters and 3 replicas by default, each node its own process on free ports
 * (client and cluster bus) with its data folder in one temporary folder, AOF on. Also kills
 * a master and waits for its replica to take over, and moves slots between masters.
 */
import type { Buffer } from "node:buffer";
import { connectRedis, type Redis, type RedisClient, scanKeys } from "../redis.ts";
import { serverArgs } from "../redis_settings.ts";
import { freePort, startRedisServer } from "./redis_server.ts";

export interface RedisClusterOptions {
  masters?: number;
  replicasPerMaster?: number;
  /** cluster-node-timeout: how long a node must be unreachable to fail over (ms). */
  nodeTimeoutMs?: number;
  extraArgs?: string[];
}

/** A node as CLUSTER NODES describes it. */
export interface ClusterNodeInfo {
  id: string;
  port: number;
  role: "master" | "replica";
  /** The master's id, for a replica. */
  masterId?: string;
  /** Slots served, for a master, and their ranges (first and last slot). */
  slots: number;
  ranges: [number, number][];
  failed: boolean;
}

export interface RedisCluster extends AsyncDisposable {
  /** Every node's port, masters first as created. */
  readonly ports: number[];
  /** The seed nodes, "127.0.0.1:port,...": REDIS_CLUSTER_NODES. */
  readonly nodes: string;
  readonly dir: string;
  /** A command's answer from one node (redis-cli --raw). */
  cli(port: number, ...args: string[]): Promise<string>;
  /** The nodes as a live node sees them. */
  topology(): Promise<ClusterNodeInfo[]>;
  /** The port of the master that serves the slot of `key`. */
  masterOf(key: string): Promise<number>;
  /** A client of the cluster, as connectRedis() gives the services with these seed nodes. */
  connect(): Promise<Redis>;
  /**
   * Kills a master with SIGKILL and waits until one of its replicas serves its slots and
   * every live node says cluster_state:ok; resolves with that replica's port.
   */
  killMaster(port: number): Promise<number>;
  /** Starts a killed node again (it comes back as a replica) and waits until it syncs. */
  restart(port: number): Promise<void>;
  /** Moves `slots` slots from one master to another (redis-cli --cluster reshard). */
  reshard(fromPort: number, toPort: number, slots: number): Promise<void>;
  /** Kills every node and removes the folder. */
  stop(): Promise<void>;
}

const decoder = new TextDecoder();

async function run(program: string, args: string[]): Promise<string> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(program, { args, stdout: "piped", stderr: "piped" }).output();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new Error(
        `Cannot start a Redis Cluster: ${program} is not installed (apt-get install -y redis-server)`,
        { cause: err },
      );
    }
    throw err;
  }
  const stdout = decoder.decode(out.stdout);
  if (!out.success) {
    throw new Error(`${program} ${args.join(" ")} failed: ${decoder.decode(out.stderr)}${stdout}`);
  }
  return stdout;
}

/** Polls `check` every 100 ms until it holds; throws naming `what` after `timeoutMs`. */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000) {
  const deadline = performance.now() + timeoutMs;
  let last: unknown;
  while (performance.now() < deadline) {
    try {
      if (await check()) return;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Redis Cluster: timed out waiting for ${what}`, { cause: last });
}

function parseNodes(text: string): ClusterNodeInfo[] {
  return text.trim().split("\n").filter(Boolean).map((line) => {
    const [id, addr, flags, master, , , , , ...slots] = line.split(" ");
    // Slots being moved show as [slot->-id]: counted where they are until they move.
    const ranges = slots.filter((s) => !s.startsWith("[")).map((s): [number, number] => {
      const [a, b = a] = s.split("-").map(Number);
      return [a, b];
    });
    return {
      id,
      port: Number(addr.split("@")[0].split(":").pop()),
      role: flags.includes("master") ? "master" : "replica",
      ...(master !== "-" ? { masterId: master } : {}),
      slots: ranges.reduce((n, [a, b]) => n + b - a + 1, 0),
      ranges,
      failed: /\bfail\b/.test(flags) || flags.includes("fail?") || flags.includes("noaddr"),
    };
  });
}

/** Every key of a server or cluster (matching `match`), each once, sorted. */
export async function allKeys(redis: RedisClient, match?: string): Promise<string[]> {
  const keys = new Set<string>();
  for await (const page of scanKeys(redis, { match, count: 500 })) {
    for (const k of page) keys.add(k);
  }
  return [...keys].sort();
}

/**
 * Copies every key of one server into a cluster with its value and expiry (DUMP and RESTORE),
 * each into its own slot: a store written on one server, laid out as a cluster holds it.
 * Returns the keys copied.
 */
export async function copyInto(from: Redis, to: RedisClient): Promise<string[]> {
  const keys = await allKeys(from);
  for (const key of keys) {
    // The same expiry to the millisecond (an absolute one: no time passes between the two).
    const [dump, at] = await Promise.all([from.dumpBuffer(key), from.call("PEXPIRETIME", key)]);
    await to.restore(key, Math.max(0, Number(at)), dump as Buffer, "REPLACE", "ABSTTL");
  }
  return keys;
}

export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
  const masters = options.masters ?? 3;
  const replicas = options.replicasPerMaster ?? 1;
  const dir = await Deno.makeTempDir({ prefix: "redis-cluster-" });
  // Two free ports per node (clients, cluster bus), none twice.
  const ports = new Set<number>();
  while (ports.size < 2 * masters * (1 + replicas)) ports.add(freePort());
  const free = [...ports];
  const nodes = Array.from({ length: masters * (1 + replicas) }, (_, i) => ({
    port: free[2 * i],
    bus: free[2 * i + 1],
    child: undefined as Deno.ChildProcess | undefined,
  }));
  const byPort = (port: number) => {
    const node = nodes.find((n) => n.port === port);
    if (!node) throw new Error(`Redis Cluster: no node on port ${port}`);
    return node;
  };
  const cli = (port: number, ...args: string[]) =>
    run("redis-cli", ["-h", "127.0.0.1", "-p", String(port), "--raw", ...args]);
  const alive = () => nodes.filter((n) => n.child !== undefined);

  const spawn = async (node: (typeof nodes)[number]) => {
    const data = `${dir}/${node.port}`;
    await Deno.mkdir(data, { recursive: true });
    const args = [
      "--port",
      String(node.port),
      "--cluster-port",
      String(node.bus),
      "--bind",
      "127.0.0.1",
      "--dir",
      data,
      "--cluster-enabled",
      "yes",
      "--cluster-config-file",
      "nodes.conf",
      "--cluster-node-timeout",
      String(options.nodeTimeoutMs ?? 1000),
      "--appendonly",
      "yes",
      "--save",
      "",
      "--daemonize",
      "no",
      ...serverArgs(),
      "--loglevel",
      "warning",
      ...(options.extraArgs ?? []),
    ];
    try {
      node.child = new Deno.Command("redis-server", { args, stdout: "null", stderr: "null" })
        .spawn();
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) {
        throw new Error(
          "Cannot start a Redis Cluster: redis-server is not installed (apt-get install -y redis-server)",
          { cause: err },
        );
      }
      throw err;
    }
    await until(`the node on port ${node.port} to answer`, async () => {
      return (await cli(node.port, "PING")).trim() === "PONG";
    }, 10_000);
  };

  const kill = async (node: (typeof nodes)[number], signal: Deno.Signal) => {
    const child = node.child;
    if (!child) return;
    node.child = undefined;
    try {
      child.kill(signal);
    } catch { /* already gone */ }
    await child.status;
  };

  const topology = async () => {
    for (const node of alive()) {
      try {
        return parseNodes(await cli(node.port, "CLUSTER", "NODES"));
      } catch { /* try the next one */ }
    }
    throw new Error("Redis Cluster: no node answers");
  };

  /** Every live node: cluster_state:ok, and its view has every slot on a live master. */
  const healthy = async () => {
    for (const node of alive()) {
      const info = await cli(node.port, "CLUSTER", "INFO");
      if (!/^cluster_state:ok\r?$/m.test(info)) return false;
      if (!/^cluster_slots_ok:16384\r?$/m.test(info)) return false;
    }
    return true;
  };

  /** Every live replica has its master's data (link up, not syncing). */
  const replicasInSync = async () => {
    for (const n of await topology()) {
      if (n.role !== "replica" || n.failed) continue;
      const info = await cli(n.port, "INFO", "replication");
      if (!/^master_link_status:up\r?$/m.test(info)) return false;
      if (/^master_sync_in_progress:1\r?$/m.test(info)) return false;
    }
    return true;
  };

  const stop = async () => {
    await Promise.all(nodes.map((n) => kill(n, "SIGKILL")));
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };

  try {
    await Promise.all(nodes.map(spawn));
    await run("redis-cli", [
      "--cluster",
      "create",
      ...nodes.map((n) => `127.0.0.1:${n.port}`),
      "--cluster-replicas",
      String(replicas),
      "--cluster-yes",
    ]);
    await until("cluster_state:ok on every node", healthy);
    await until("every node to know every other", async () => {
      for (const node of nodes) {
        const known = parseNodes(await cli(node.port, "CLUSTER", "NODES"));
        if (known.length !== nodes.length || known.some((k) => k.failed)) return false;
      }
      return true;
    });
    await until("the replicas to sync", replicasInSync);
  } catch (err) {
    await stop();
    throw err;
  }

  const cluster: RedisCluster = {
    ports: nodes.map((n) => n.port),
    nodes: nodes.map((n) => `127.0.0.1:${n.port}`).join(","),
    dir,
    cli,
    topology,
    connect: () =>
      connectRedis({
        REDIS_URL: "redis://127.0.0.1:1",
        REDIS_CLUSTER_NODES: nodes.map((n) => `127.0.0.1:${n.port}`),
      }, { name: "test" }),
    async masterOf(key: string) {
      const slot = Number((await cli(alive()[0].port, "CLUSTER", "KEYSLOT", key)).trim());
      const master = (await topology()).find((n) =>
        n.role === "master" && !n.failed && n.ranges.some(([a, b]) => a <= slot && slot <= b)
      );
      if (!master) throw new Error(`Redis Cluster: no master serves slot ${slot}`);
      return master.port;
    },
    async killMaster(port: number) {
      const before = await topology();
      const master = before.find((n) => n.port === port && n.role === "master");
      if (!master) throw new Error(`Redis Cluster: port ${port} is not a master`);
      const candidates = before.filter((n) => n.masterId === master.id && !n.failed);
      if (candidates.length === 0) throw new Error(`Redis Cluster: ${port} has no replica`);
      await kill(byPort(port), "SIGKILL");
      let promoted = 0;
      await until(`a replica of ${port} to take over`, async () => {
        const now = await topology();
        const p = now.find((n) =>
          candidates.some((c) => c.id === n.id) && n.role === "master" && n.slots > 0
        );
        if (!p) return false;
        promoted = p.port;
        return true;
      });
      await until("cluster_state:ok on every live node", healthy);
      return promoted;
    },
    async restart(port: number) {
      const node = byPort(port);
      if (node.child) throw new Error(`Redis Cluster: the node on ${port} is running`);
      await spawn(node);
      // It starts as the master it was, until it learns that its replica took its slots
      // over and follows it.
      await until(`the node on ${port} to rejoin as a replica`, async () => {
        const me = (await topology()).find((n) => n.port === port);
        return me !== undefined && !me.failed && me.role === "replica";
      });
      await until("cluster_state:ok on every live node", healthy);
      await until("the replicas to sync", replicasInSync);
    },
    async reshard(fromPort: number, toPort: number, slots: number) {
      const now = await topology();
      const from = now.find((n) => n.port === fromPort && n.role === "master");
      const to = now.find((n) => n.port === toPort && n.role === "master");
      if (!from || !to) throw new Error("Redis Cluster: reshard needs two masters");
      await run("redis-cli", [
        "--cluster",
        "reshard",
        `127.0.0.1:${fromPort}`,
        "--cluster-from",
        from.id,
        "--cluster-to",
        to.id,
        "--cluster-slots",
        String(slots),
        "--cluster-yes",
      ]);
      await until("every node to agree on the moved slots", async () => {
        for (const node of alive()) {
          const view = parseNodes(await cli(node.port, "CLUSTER", "NODES"));
          const f = view.find((n) => n.id === from.id), t = view.find((n) => n.id === to.id);
          if (f?.slots !== from.slots - slots || t?.slots !== to.slots + slots) return false;
        }
        return true;
      });
      await until("cluster_state:ok on every node", healthy);
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
  return cluster;
}

/**
 * A redis-server and a local cluster beside it (startRedisCluster()), for tests that compare
 * the same store on both: `fn` gets a client of each, and the cluster; all are stopped after.
 */
export async function withServerAndCluster(
  fn: (one: Redis, many: Redis, cluster: RedisCluster) => Promise<void>,
): Promise<void> {
  await using server = await startRedisServer();
  await using cluster = await startRedisCluster();
  const one = await connectRedis(server.url, { name: "test" });
  const many = await cluster.connect();
  try {
    await fn(one, many, cluster);
  } finally {
    one.disconnect();
    many.disconnect();
  }
}
