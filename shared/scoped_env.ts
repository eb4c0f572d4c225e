/**
 * Services run with `--allow-env=<their variables>`, but npm's `debug` (pulled in by
 * ioredis) enumerates `process.env` at load time, which Deno only allows with full env
 * access. Import this module first in a service's main.ts: it replaces `process.env` with
 * a view that reads variables the process may read and enumerates none.
 */
import process from "node:process";

function readable(name: string): string | undefined {
  try {
    const { state } = Deno.permissions.querySync({ name: "env", variable: name });
    return state === "granted" ? Deno.env.get(name) : undefined;
  } catch {
    return undefined;
  }
}

const view = new Proxy({} as Record<string, string>, {
  get: (_t, name) => typeof name === "string" ? readable(name) : undefined,
  has: (_t, name) => typeof name === "string" && readable(name) !== undefined,
  set: (_t, name, value) => {
    if (typeof name === "string") {
      try {
        Deno.env.set(name, String(value));
      } catch { /* not ours to set */ }
    }
    return true;
  },
  deleteProperty: () => true,
  ownKeys: () => [],
  getOwnPropertyDescriptor: (_t, name) => {
    const value = typeof name === "string" ? readable(name) : undefined;
    return value === undefined
      ? undefined
      : { value, enumerable: true, configurable: true, writable: true };
  },
});

Object.defineProperty(process, "env", { value: view, configurable: true, writable: true });
