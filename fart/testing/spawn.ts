/** Test helpers: the API as a process started the way `deno task start` starts it. */
import { spawnService } from "../../scripts/testing/platform.ts";

/**
 * Starts the API as a process with its scoped permissions; resolves once it answers. Tests
 * run their PDS and PLC on loopback ports, so private networks are allowed unless `env`
 * says otherwise.
 */
export function spawnFart(env: Record<string, string>): Promise<Deno.ChildProcess> {
  return spawnService("fart", { FART_ALLOW_PRIVATE_NETWORK: "true", ...env }, "FART_DEBUG");
}
