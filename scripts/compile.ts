/**
 * `deno task compile`: one binary per service in dist/, with the permissions
 * `deno task start` gives it baked in. The flags come from serviceArgs() (scripts/services.ts),
 * so the two cannot drift. Hosts and ports in those flags depend on the environment
 * (REDIS_URL, FIREHOSE_URL, the ports...): they are read from `--env-file FILE` if given,
 * otherwise from the current environment, and a binary must run with the same values.
 *
 *   deno task compile [--print] [--env-file FILE] [--target TRIPLE]
 *
 * `--print` only prints the commands. Compiling downloads the Deno runtime for the target
 * (denort) the first time, so it needs network access.
 */
import { parseArgs } from "node:util";
import { serviceArgs, SERVICES, type ServiceSpec } from "./services.ts";
import { parseEnvFile } from "./env_file.ts";

type Env = Record<string, string | undefined>;

/** The `deno compile` arguments of a service: its `deno run` flags, an output and the embeds. */
export function compileArgs(spec: ServiceSpec, env: Env, target?: string): string[] {
  const run = serviceArgs(spec, env);
  if (run[0] !== "run" || run.at(-1) !== spec.entry) {
    throw new Error(`Cannot derive compile flags of ${spec.name}: unexpected "${run.join(" ")}"`);
  }
  const flags = run.slice(1, -1).filter((a) => a !== "--quiet");
  return [
    "compile",
    ...flags,
    ...(spec.include ?? []).flatMap((path) => ["--include", path]),
    ...(target ? ["--target", target] : []),
    "--output",
    `dist/${spec.name}`,
    spec.entry,
  ];
}

/** An argument as a POSIX shell word. */
export function shellWord(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'"'"'`)}'`;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      print: { type: "boolean", default: false },
      "env-file": { type: "string" },
      target: { type: "string" },
    },
  });
  const file = values["env-file"];
  const env: Env = file ? parseEnvFile(await Deno.readTextFile(file)) : Deno.env.toObject();
  const root = new URL("..", import.meta.url).pathname;
  if (!values.print) await Deno.mkdir(`${root}dist`, { recursive: true });
  for (const spec of SERVICES) {
    const args = compileArgs(spec, env, values.target);
    if (values.print) {
      console.log(["deno", ...args].map(shellWord).join(" "));
      continue;
    }
    console.error(`Compiling ${spec.name} into dist/${spec.name}`);
    const { code } = await new Deno.Command(Deno.execPath(), { args, cwd: root }).spawn().status;
    if (code !== 0) {
      console.error(
        `Cannot compile ${spec.name}: deno compile exited with ${code} ` +
          "(it downloads the Deno runtime the first time, which needs network access)",
      );
      Deno.exit(1);
    }
  }
}
