/**
 * How each service is started: its entrypoint and the narrowest permissions that let it
 * run with the given environment. `deno task start`, compose.yaml and the tests use this.
 */
import { backfillEnv } from "../backfill/config.ts";
import { firehoseEnv } from "../firehose/config.ts";
import { indexerEnv } from "../indexer/config.ts";
import { fartEnv } from "../fart/config.ts";
import { schedulerEnv } from "../scheduler/config.ts";
import { siteEnv } from "../site/config.ts";
import { taskerEnv } from "../tasker/config.ts";
import { commonEnv, listenEnv } from "../shared/config.ts";
import { createHash, randomBytes } from "node:crypto";
import type { z } from "zod";

export interface ServiceSpec {
  name: string;
  entry: string;
  /** Variables the service reads (its --allow-env list). */
  env: string[];
  /** Hosts it may reach or listen on, given the environment. */
  net: (env: Record<string, string | undefined>) => string[];
  /** The local URL that answers 200 once it is up (tests and compose healthchecks). */
  health: (env: Record<string, string | undefined>) => string;
  /** Folders it may read: only code, for the workers it starts. */
  read?: string[];
  /** Folders of native addons it may load. */
  ffi?: string[];
  /** System information it may read. */
  sys?: string[];
  unstable?: string[];
  /** Files loaded at run time that `deno compile` must embed (workers, assets). */
  include?: string[];
  /**
   * Settings without which the service is off: `deno task start` leaves it out, saying so
   * in one log line (the tasker without an account to post from).
   */
  needs?: string[];
}

/** The settings a service needs that `env` leaves unset: none when it is on. */
export function unsetNeeds(spec: ServiceSpec, env: Record<string, string | undefined>): string[] {
  return (spec.needs ?? []).filter((name) => !env[name]?.trim());
}

/** host:port of a URL, with the scheme's default port when none is given. */
export function hostPort(url: string, defaults: Record<string, number> = {}): string {
  const u = new URL(url);
  const port = u.port || String(defaults[u.protocol.slice(0, -1)] ?? "");
  const host = u.hostname.startsWith("[") ? u.hostname : u.hostname;
  return port ? `${host}:${port}` : host;
}

const PORTS = { redis: 6379, rediss: 6379, ws: 80, wss: 443, http: 80, https: 443 };

type Env = Record<string, string | undefined>;

/**
 * A service's settings as it reads them: each variable through its own definition (the
 * service's config.ts, where its default is stated), which the flags and the health URL are
 * made from. A value that does not parse counts as unset here: the service is started with
 * the default's flags and stops on that value itself, naming the variable. A variable that
 * is required and unset is undefined.
 */
export function settingsOf<S extends Record<string, z.ZodType>>(
  shape: S,
  env: Env,
): z.output<z.ZodObject<S>> {
  const out: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(shape)) {
    const raw = env[name]?.trim() ? env[name] : undefined;
    const given = raw === undefined ? undefined : schema.safeParse(raw);
    out[name] = given?.success ? given.data : schema.safeParse(undefined).data;
  }
  return out as z.output<z.ZodObject<S>>;
}

/** The address services listen on (BIND_HOST), as --allow-net and URLs write it. */
export function listenHost(env: Env): string {
  const host = settingsOf(listenEnv, env).BIND_HOST;
  return host.includes(":") ? `[${host}]` : host;
}

/** Where a client on this machine reaches the services: loopback when they listen on all. */
export function localHost(env: Env): string {
  const host = listenHost(env);
  return host === "0.0.0.0" ? "127.0.0.1" : host === "[::]" ? "[::1]" : host;
}

/** host:port of each URL, with the scheme's default port when none is given. */
const hostsOf = (...urls: string[]) => urls.map((url) => hostPort(url, PORTS));

/**
 * The Redis a service reaches: the nodes REDIS_CLUSTER_NODES lists when it lists any (the
 * service then uses that Redis Cluster, not REDIS_URL), else REDIS_URL's host.
 */
function redisHosts(env: Env): string[] {
  const c = settingsOf(commonEnv, env);
  return c.REDIS_CLUSTER_NODES.length > 0 ? [...c.REDIS_CLUSTER_NODES] : hostsOf(c.REDIS_URL);
}

export const SERVICES: ServiceSpec[] = [
  {
    name: "firehose",
    entry: "firehose/main.ts",
    env: Object.keys(firehoseEnv),
    // The decode worker is loaded at run time, so its code needs read access.
    read: ["firehose", "shared", "node_modules"],
    include: ["firehose/decode_worker.ts"],
    health: (env) =>
      `http://${localHost(env)}:${settingsOf(firehoseEnv, env).FIREHOSE_METRICS_PORT}/healthz`,
    net: (env) => {
      const c = settingsOf(firehoseEnv, env);
      const hosts = [
        ...redisHosts(env),
        ...hostsOf(c.FIREHOSE_URL),
        `${listenHost(env)}:${c.FIREHOSE_METRICS_PORT}`,
      ];
      // Verification resolves DIDs through the PLC directory and did:web hosts.
      if (c.FIREHOSE_VERIFY) hosts.push(...hostsOf(c.FIREHOSE_PLC_URL));
      return hosts;
    },
  },
  {
    name: "indexer",
    entry: "indexer/main.ts",
    env: Object.keys(indexerEnv),
    health: (env) =>
      `http://${localHost(env)}:${settingsOf(indexerEnv, env).INDEXER_METRICS_PORT}/healthz`,
    net: (env) => [
      ...redisHosts(env),
      `${listenHost(env)}:${settingsOf(indexerEnv, env).INDEXER_METRICS_PORT}`,
    ],
  },
  {
    name: "fart",
    entry: "fart/main.ts",
    env: Object.keys(fartEnv),
    // The PNG renderer threads load their code, resvg's native addon and a font at run time.
    read: ["fart/png_worker.ts", "fart/png.ts", "fart/assets", "node_modules"],
    include: ["fart/png_worker.ts", "fart/assets"],
    ffi: ["node_modules"],
    // The addon's loader reads a process report to choose between its glibc and musl builds.
    sys: ["cpus", "networkInterfaces", "hostname"],
    health: (env) => `http://${localHost(env)}:${settingsOf(fartEnv, env).FART_PORT}/healthz`,
    net: (env) => {
      const c = settingsOf(fartEnv, env);
      return [
        ...redisHosts(env),
        ...hostsOf(c.FART_PLC_URL, c.FART_HANDLE_RESOLVER_URL, c.FART_AVATAR_CDN_URL),
        `${listenHost(env)}:${c.FART_PORT}`,
        `${listenHost(env)}:${c.FART_METRICS_PORT}`,
      ];
    },
  },
  {
    name: "site",
    entry: "site/main.ts",
    env: Object.keys(siteEnv),
    // Routes and islands are read from disk and bundled for the browser when it starts.
    read: ["site", "shared", "fart", "store", "node_modules"],
    // Found by walking folders, not by imports: a binary has them only when told.
    include: ["site/client.ts", "site/routes", "site/islands", "site/static"],
    unstable: ["bundle"],
    // The site has no health endpoint of its own: a page that needs no data.
    health: (env) => `http://${localHost(env)}:${settingsOf(siteEnv, env).SITE_PORT}/about`,
    net: (env) => {
      const c = settingsOf(siteEnv, env);
      return [...hostsOf(c.FART_URL), `${listenHost(env)}:${c.SITE_PORT}`];
    },
  },
  {
    name: "scheduler",
    entry: "scheduler/main.ts",
    env: Object.keys(schedulerEnv),
    health: (env) =>
      `http://${localHost(env)}:${settingsOf(schedulerEnv, env).SCHEDULER_METRICS_PORT}/healthz`,
    net: (env) => {
      const c = settingsOf(schedulerEnv, env);
      return [
        ...redisHosts(env),
        ...hostsOf(c.SCHEDULER_PLC_URL, c.SCHEDULER_HANDLE_RESOLVER_URL),
        // The backfill job, when on, reads its source host.
        ...(c.SCHEDULER_BACKFILL_SOURCE_URL ? hostsOf(c.SCHEDULER_BACKFILL_SOURCE_URL) : []),
        `${listenHost(env)}:${c.SCHEDULER_METRICS_PORT}`,
      ];
    },
    unstable: ["cron"],
  },
  {
    name: "tasker",
    entry: "tasker/main.ts",
    env: Object.keys(taskerEnv),
    needs: ["TASKER_IDENTIFIER"],
    health: (env) =>
      `http://${localHost(env)}:${settingsOf(taskerEnv, env).TASKER_METRICS_PORT}/healthz`,
    // The bot's PDS, the API it takes images from, and Redis: nothing else.
    net: (env) => {
      const c = settingsOf(taskerEnv, env);
      return [
        ...redisHosts(env),
        ...hostsOf(c.TASKER_SERVICE_URL, c.FART_URL),
        `${listenHost(env)}:${c.TASKER_METRICS_PORT}`,
      ];
    },
  },
];

/**
 * The backfill, `deno task backfill` (backfill/launch.ts): a run that ends, so not one of
 * the services `start` keeps running, but started the same way, with flags as narrow: its
 * source host, Redis and its metrics port.
 */
export const BACKFILL: ServiceSpec = {
  name: "backfill",
  entry: "backfill/main.ts",
  env: Object.keys(backfillEnv),
  needs: ["BACKFILL_SOURCE_URL"],
  health: (env) =>
    `http://${localHost(env)}:${settingsOf(backfillEnv, env).BACKFILL_METRICS_PORT}/healthz`,
  net: (env) => {
    const c = settingsOf(backfillEnv, env);
    return [
      ...redisHosts(env),
      ...(c.BACKFILL_SOURCE_URL ? hostsOf(c.BACKFILL_SOURCE_URL) : []),
      `${listenHost(env)}:${c.BACKFILL_METRICS_PORT}`,
    ];
  },
};

/**
 * Settings that give the site its own API key, for services started together. All the
 * site's calls (pages, and up to 49 avatars per circle) come from one address; limited per
 * IP like any caller, a few visitors would use up the allowance. So, unless keys are
 * configured, a fresh key is made for this run: the site sends it, the API knows its hash
 * and limits it per key, and callers without a key are still served (FART_KEYS_OPTIONAL).
 * A SITE_FART_KEY that is set but not among FART_API_KEYS is added to them.
 */
export function siteKeyEnv(env: Record<string, string | undefined>): Record<string, string> {
  const hashOf = (key: string) => createHash("sha256").update(key).digest("hex");
  const key = env.SITE_FART_KEY || (env.FART_API_KEYS ? "" : randomBytes(24).toString("base64url"));
  if (!key) return {};
  const keys = env.FART_API_KEYS ?? "";
  if (keys.split(",").some((item) => item.trim().split(":").pop() === hashOf(key))) {
    return { SITE_FART_KEY: key };
  }
  return {
    SITE_FART_KEY: key,
    FART_API_KEYS: [keys, `site:${hashOf(key)}`].filter(Boolean).join(","),
    // Keys were not required before the site's was added: they still are not.
    ...(keys ? {} : { FART_KEYS_OPTIONAL: "true" }),
  };
}

/** The `deno run` arguments of a service for the given environment. */
export function serviceArgs(spec: ServiceSpec, env: Record<string, string | undefined>): string[] {
  return [
    "run",
    "--quiet",
    `--allow-net=${[...new Set(spec.net(env))].join(",")}`,
    `--allow-env=${spec.env.join(",")}`,
    ...(spec.read ? [`--allow-read=${spec.read.join(",")}`] : []),
    ...(spec.ffi ? [`--allow-ffi=${spec.ffi.join(",")}`] : []),
    ...(spec.sys ? [`--allow-sys=${spec.sys.join(",")}`] : []),
    ...(spec.unstable ?? []).map((u) => `--unstable-${u}`),
    spec.entry,
  ];
}

/**
 * `deno run --allow-env scripts/services.ts NAME` prints the `deno` arguments of service NAME
 * for this environment, one a line: the container entrypoint (scripts/run_service.sh) runs them.
 */
if (import.meta.main) {
  const spec = SERVICES.find((s) => s.name === Deno.args[0]);
  if (!spec || Deno.args.length !== 1) {
    console.error(
      `Cannot start a service: "${Deno.args.join(" ")}" is not one of ` +
        SERVICES.map((s) => s.name).join(", "),
    );
    Deno.exit(2);
  }
  console.log(serviceArgs(spec, Deno.env.toObject()).join("\n"));
}
