/** Test helpers: the site as a process started the way `deno task start` starts it. */
import { spawnService } from "../../scripts/testing/platform.ts";

/** Starts the site with its scoped permissions; resolves once it serves pages. */
export function spawnSite(env: Record<string, string>): Promise<Deno.ChildProcess> {
  return spawnService("site", env, "SITE_DEBUG");
}
