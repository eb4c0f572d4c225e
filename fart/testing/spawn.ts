/** Test helpers: the API as a process started the way `deno task start` starts it. */
import { spawnService } from "../../scripts/testing/platform.ts";

/** Starts the API as a process with its scoped permissions; resolves once it answers. */
export function spawnFart(env: Record<string, string>): Promise<Deno.ChildProcess> {
  return spawnService("fart", env, "FART_DEBUG");
}
