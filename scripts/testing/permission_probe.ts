/**
 * Loaded with `--preload` in front of a service, so it runs with exactly that service's
 * permissions: it reaches for things outside them, prints one JSON line saying how each
 * attempt ended, and exits before the service starts.
 *
 * The last argument is JSON: `outsideHost` and `undeclaredEnv` (what the service must not
 * reach), `env` and `net` (what it declares, which the probe checks it may use).
 */

interface Probe {
  outsideHost: string;
  undeclaredEnv: string;
  env: string[];
  net: string[];
}

async function attempt(fn: () => unknown): Promise<string> {
  try {
    await fn();
    return "allowed";
  } catch (err) {
    return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  }
}

const probe = JSON.parse(Deno.args.at(-1)!) as Probe;
const granted = (d: Deno.PermissionDescriptor) => Deno.permissions.querySync(d).state;
const report = {
  service: "permission-probe",
  net: await attempt(() =>
    fetch(`https://${probe.outsideHost}/`, { signal: AbortSignal.timeout(5000) })
  ),
  env: await attempt(() => Deno.env.get(probe.undeclaredEnv)),
  envAll: await attempt(() => Deno.env.toObject()),
  read: await attempt(() => Deno.readTextFile("/etc/passwd")),
  write: await attempt(() => Deno.writeTextFile("/tmp/permission-probe", "x")),
  run: await attempt(() => new Deno.Command("/bin/sh", { args: ["-c", "true"] }).output()),
  declaredEnv: probe.env.map((variable) => granted({ name: "env", variable })),
  declaredNet: probe.net.map((host) => granted({ name: "net", host })),
};
console.log(JSON.stringify(report));
Deno.exit(0);
