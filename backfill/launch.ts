/**
 * `deno task backfill`: runs backfill/main.ts in a process of its own with only the flags it
 * needs (scripts/services.ts BACKFILL: the source host, Redis, its metrics port and its
 * variables), settings from the environment and `.env` as `deno task start` reads them.
 * Signals are passed on; the exit code is the backfill's.
 */
import { applyEnvFile } from "../scripts/env_file.ts";
import { BACKFILL, serviceArgs, unsetNeeds } from "../scripts/services.ts";

const root = new URL("..", import.meta.url).pathname;
const env: Record<string, string | undefined> = Deno.env.toObject();
await applyEnvFile(`${root}.env`, env);
const unset = unsetNeeds(BACKFILL, env);
if (unset.length > 0) {
  console.error(`Cannot backfill: set ${unset.join(", ")} (a relay or PDS base URL)`);
  Deno.exit(2);
}
const child = new Deno.Command(Deno.execPath(), {
  args: serviceArgs(BACKFILL, env),
  cwd: root,
  env: Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => !!e[1])),
  stdin: "null",
}).spawn();
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => {
    try {
      child.kill(signal);
    } catch {
      // exited already
    }
  });
}
Deno.exit((await child.status).code);
