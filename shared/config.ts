/**
 * Configuration from environment variables, parsed once with zod into a typed object.
 * Each variable is read by name (so `--allow-env=<names>` is enough) and an empty value
 * counts as unset. A value that is given but wrong stops the process: no silent default.
 */
import { z } from "zod";
import { ConfigError } from "./errors.ts";
import { LOG_LEVELS } from "./log.ts";

type Raw = string | undefined;

function variable<T>(parse: (raw: string) => T | string, fallback: T | undefined, hint: string) {
  return z.string().optional().transform((raw: Raw, ctx): T => {
    if (raw === undefined) {
      if (fallback === undefined) {
        ctx.addIssue({ code: "custom", message: `is required (${hint})` });
        return z.NEVER;
      }
      return fallback;
    }
    const parsed = parse(raw);
    if (typeof parsed === "string" && parsed.startsWith("\u0000")) {
      ctx.addIssue({ code: "custom", message: `"${raw}" ${parsed.slice(1)}` });
      return z.NEVER;
    }
    return parsed as T;
  });
}

const fail = (why: string) => `\u0000${why}`;

/** Builders for typed environment variables. */
export const env = {
  /**
   * Replicas a write must reach (WAIT), 0 to 16; undefined when unset, for the service to
   * choose (1 on a Redis Cluster, 0 on one server).
   */
  replicas() {
    return z.string().optional().transform((raw, ctx): number | undefined => {
      if (raw === undefined) return undefined;
      if (!/^\d{1,2}$/.test(raw.trim()) || Number(raw) > 16) {
        ctx.addIssue({ code: "custom", message: `"${raw}" is not an integer in 0..16` });
        return z.NEVER;
      }
      return Number(raw);
    });
  },
  int(fallback?: number, opts: { min?: number; max?: number } = {}) {
    const { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = opts;
    return variable<number>(
      (raw) => {
        if (!/^-?\d+$/.test(raw.trim())) return fail("is not an integer");
        const n = Number(raw);
        if (n < min || n > max) return fail(`is out of range ${min}..${max}`);
        return n;
      },
      fallback,
      "an integer",
    );
  },
  number(fallback?: number, opts: { min?: number; max?: number } = {}) {
    const { min = -Infinity, max = Infinity } = opts;
    return variable<number>(
      (raw) => {
        const n = Number(raw);
        if (raw.trim() === "" || !Number.isFinite(n)) return fail("is not a number");
        if (n < min || n > max) return fail(`is out of range ${min}..${max}`);
        return n;
      },
      fallback,
      "a number",
    );
  },
  bool(fallback?: boolean) {
    return variable<boolean>(
      (raw) => {
        const v = raw.trim().toLowerCase();
        if (["true", "1", "yes", "on"].includes(v)) return true;
        if (["false", "0", "no", "off"].includes(v)) return false;
        return fail("is not a boolean (true or false)");
      },
      fallback,
      "true or false",
    );
  },
  string(fallback?: string) {
    return variable<string>((raw) => raw, fallback, "a string");
  },
  url(fallback: string | undefined, protocols: readonly string[]) {
    return variable<string>(
      (raw) => {
        let url: URL;
        try {
          url = new URL(raw);
        } catch {
          return fail("is not a URL");
        }
        if (!protocols.includes(url.protocol.slice(0, -1))) {
          return fail(`is not a ${protocols.join(" or ")} URL`);
        }
        return raw.replace(/\/+$/, "");
      },
      fallback,
      `a ${protocols.join(" or ")} URL`,
    );
  },
  /** An IP address (IPv6 without brackets) or a host name. */
  host(fallback?: string) {
    return variable<string>(
      (raw) => isHost(raw) ? raw : fail("is not an IP address or host name"),
      fallback,
      "an IP address or host name",
    );
  },
  /**
   * A comma-separated list of host:port (an IPv6 address in brackets), such as the seed nodes
   * of a Redis Cluster; unset is the empty list.
   */
  hostPorts(max = 64) {
    return variable<string[]>(
      (raw) => {
        const items = raw.split(",").map((s) => s.trim());
        if (items.length > max) return fail(`has more than ${max} entries`);
        for (const item of items) {
          const why = hostPortProblem(item);
          if (why) {
            return fail(`is not a list of host:port (such as 10.0.0.1:7000,10.0.0.2:7000): ${why}`);
          }
        }
        return items;
      },
      [],
      "host:port,host:port,...",
    );
  },
  oneOf<const T extends readonly string[]>(values: T, fallback?: T[number]) {
    return variable<T[number]>(
      (raw) => {
        return values.includes(raw) ? raw : fail(`is not one of ${values.join(", ")}`);
      },
      fallback,
      values.join(" | "),
    );
  },
};

/** Whether `raw` is an IP address or a host name, with nothing else (no port, no path). */
function isHost(raw: string): boolean {
  try {
    if (raw.includes(":")) return new URL(`http://[${raw}]/`).hostname.length > 2;
    return new URL(`http://${raw}/`).hostname === raw.toLowerCase();
  } catch {
    return false;
  }
}

/** Why `item` is not host:port (an IPv6 address in brackets), or "" when it is. */
function hostPortProblem(item: string): string {
  const shown = JSON.stringify(item.slice(0, 100));
  const m = /^(\[[^\]]*\]|[^:\[\]]+):(\d{1,5})$/.exec(item);
  if (!m) return `${shown} is not host:port`;
  const host = m[1].startsWith("[") ? m[1].slice(1, -1) : m[1];
  if (!isHost(host) || (m[1].startsWith("[") !== host.includes(":"))) {
    return `${shown} does not start with an IP address or host name`;
  }
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return `${shown} has no port in 1..65535`;
  return "";
}

/** Where services listen unless BIND_HOST says otherwise: this machine only. */
export const DEFAULT_BIND_HOST = "127.0.0.1";

/** Where a service listens: loopback unless set (containers set 0.0.0.0, every address). */
export const listenEnv = {
  BIND_HOST: env.host(DEFAULT_BIND_HOST),
};

/** The variables every service shares. */
export const commonEnv = {
  REDIS_URL: env.url("redis://127.0.0.1:6379", ["redis", "rediss"]),
  /** Seed nodes of a Redis Cluster; when set, every service uses the Cluster, not REDIS_URL. */
  REDIS_CLUSTER_NODES: env.hostPorts(),
  LOG_LEVEL: env.oneOf(LOG_LEVELS, "info"),
  ...listenEnv,
};

export type EnvSource = (name: string) => string | undefined;

/** Parses the given variables; throws a ConfigError that names each bad variable. */
export function loadConfig<S extends z.ZodRawShape>(
  shape: S,
  source: EnvSource = (name) => Deno.env.get(name),
): z.output<z.ZodObject<S>> {
  const raw: Record<string, string | undefined> = {};
  for (const name of Object.keys(shape)) {
    const value = source(name);
    raw[name] = value === undefined || value.trim() === "" ? undefined : value;
  }
  const result = z.object(shape).safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    throw new ConfigError(`Cannot parse configuration: ${problems.join("; ")}`);
  }
  return result.data;
}
