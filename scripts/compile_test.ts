/**
 * `deno compile` cannot run here (it downloads the runtime), so this checks what
 * `deno task compile --print` would run: the same flags as `deno task start`, per service,
 * and an `--include` for every file a service reads at run time.
 */
import assert from "node:assert/strict";
import { pathToFileURL } from "node:url";
import { serviceArgs, SERVICES, type ServiceSpec } from "./services.ts";

const root = new URL("..", import.meta.url).pathname;
const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/** Runs `deno task compile` with `args` and the environment changed by `env`. */
async function compileTask(args: string[], env: Record<string, string>) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "compile", ...args],
    cwd: root,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return text.trim().split("\n");
}

/** Splits a printed command line into its words (single-quoted words may hold anything). */
function words(line: string): string[] {
  return [...line.matchAll(/'((?:[^']|'"'"')*)'|(\S+)/g)].map((m) =>
    m[1] !== undefined ? m[1].replaceAll(`'"'"'`, "'") : m[2]
  );
}

/** What `deno task compile --print` must print for a service, from serviceArgs alone. */
function expected(name: string, env: Record<string, string | undefined>): string[] {
  const spec = SERVICES.find((s) => s.name === name)!;
  const run = serviceArgs(spec, env);
  return [
    "deno",
    "compile",
    ...run.slice(2, -1),
    ...(spec.include ?? []).flatMap((p) => ["--include", p]),
    "--output",
    `dist/${spec.name}`,
    spec.entry,
  ];
}

const ENV = {
  REDIS_URL: "redis://redis.internal:6390",
  FIREHOSE_URL: "wss://relay.example.com",
  FIREHOSE_METRICS_PORT: "9101",
  INDEXER_METRICS_PORT: "9102",
  FART_PORT: "9100",
};

Deno.test("deno task compile --print gives each service exactly its deno task start flags", async () => {
  const lines = await compileTask(["--print"], ENV);
  assert.equal(lines.length, SERVICES.length);
  const env = { ...Deno.env.toObject(), ...ENV };
  for (const [i, spec] of SERVICES.entries()) {
    const printed = words(lines[i]);
    assert.deepEqual(printed, expected(spec.name, env));
    const run = serviceArgs(spec, env);
    const flags = printed.filter((w) => w.startsWith("--allow-") || w.startsWith("--unstable-"));
    assert.deepEqual(
      flags,
      run.filter((w) => w.startsWith("--allow-") || w.startsWith("--unstable-")),
    );
  }
  assert.match(
    lines[0],
    /--allow-net=redis\.internal:6390,relay\.example\.com:443,127\.0\.0\.1:9101 /,
  );
});

Deno.test("deno task compile --env-file takes the hosts and ports from the file, not the environment", async () => {
  const file = await Deno.makeTempFile({ suffix: ".env" });
  try {
    await Deno.writeTextFile(
      file,
      '# production\nREDIS_URL="redis://10.0.0.5:6379"\nexport FART_PORT=8080 # the API\n',
    );
    const lines = await compileTask(["--print", "--env-file", file], ENV);
    const fileEnv = { REDIS_URL: "redis://10.0.0.5:6379", FART_PORT: "8080" };
    for (const [i, spec] of SERVICES.entries()) {
      assert.deepEqual(words(lines[i]), expected(spec.name, fileEnv));
      assert.ok(!lines[i].includes("redis.internal"), lines[i]);
    }
  } finally {
    await Deno.remove(file);
  }
});

interface InfoModule {
  specifier: string;
  error?: string;
  dependencies?: { code?: { specifier: string }; type?: { specifier: string } }[];
}

/** A module graph as repository paths: what runs, and what is only imported for its types. */
interface Graph {
  code: Set<string>;
  typesOnly: Set<string>;
}

/** The local modules reached from `modules`: `deno compile` embeds the code, not the types. */
async function moduleGraph(modules: string[]): Promise<Graph> {
  const dir = await Deno.makeTempDir({ prefix: "compile-graph-" });
  try {
    const roots = modules.map((m) => `import "${pathToFileURL(root + m).href}";\n`).join("");
    await Deno.writeTextFile(`${dir}/roots.ts`, roots);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", "--config", `${root}deno.json`, `${dir}/roots.ts`],
      cwd: root,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, decode(out.stderr));
    const info: { roots: string[]; modules: InfoModule[] } = JSON.parse(decode(out.stdout));
    const bySpecifier = new Map(info.modules.map((m) => [m.specifier, m]));
    /** Every specifier reached from the roots, through value imports only or through any. */
    const reach = (withTypes: boolean) => {
      const seen = new Set<string>(info.roots);
      for (const specifier of seen) {
        if (!specifier.startsWith("file:")) continue; // npm packages are embedded whole
        const module = bySpecifier.get(specifier);
        assert.ok(module && !module.error, `${specifier}: ${module?.error}`);
        for (const dep of module.dependencies ?? []) {
          if (dep.code) seen.add(dep.code.specifier);
          if (withTypes && dep.type) seen.add(dep.type.specifier);
        }
      }
      const prefix = pathToFileURL(root).href;
      return new Set(
        [...seen].filter((s) => s.startsWith(prefix) && !s.includes("/node_modules/"))
          .map((s) => decodeURIComponent(s.slice(prefix.length))),
      );
    };
    const code = reach(false);
    return { code, typesOnly: new Set([...reach(true)].filter((m) => !code.has(m))) };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Files below `path` (or `path` itself), as repository paths. */
async function filesAt(path: string, skip = (_: string) => false): Promise<string[]> {
  const stat = await Deno.stat(root + path);
  if (!stat.isDirectory) return [path];
  const out: string[] = [];
  for await (const entry of Deno.readDir(root + path)) {
    const child = `${path}/${entry.name}`;
    if (!skip(child)) out.push(...await filesAt(child, skip));
  }
  return out;
}

/** Tests, benches, their helpers and configuration: nothing a service reads when it runs. */
const notRunTime = (path: string) =>
  /(^|\/)\.|_test\.tsx?$|\/(tests|bench|testing)$|\/deno\.json$/.test(path);

/**
 * The files that the code in `modules` loads by path at run time: every
 * `new URL("…", import.meta.url)` names a file (a worker, a font) or a folder whose files
 * are found by listing it (the site's routes, islands, client and static files).
 */
async function loadedByPath(modules: Set<string>): Promise<string[]> {
  const files = new Set<string>();
  const urls = /new URL\(\s*["']([^"']+)["'],\s*import\.meta\.url\)/g;
  for (const module of modules) {
    for (const [, target] of (await Deno.readTextFile(root + module)).matchAll(urls)) {
      const url = new URL(target, pathToFileURL(root + module));
      const path = decodeURIComponent(url.pathname).slice(root.length).replace(/\/$/, "");
      for (const file of await filesAt(path, notRunTime)) files.add(file);
    }
  }
  return [...files].sort();
}

/** What `deno compile` embeds for a service, and what the service loads by path. */
async function embedding(spec: ServiceSpec) {
  const include = spec.include ?? [];
  const included = (await Promise.all(include.map((p) => filesAt(p, notRunTime)))).flat();
  // An included module brings its own imports, as the entry does.
  const graph = await moduleGraph([spec.entry, ...included.filter((f) => /\.tsx?$/.test(f))]);
  const loaded = await loadedByPath(graph.code);
  const covered = (file: string) =>
    graph.code.has(file) || include.some((p) => file === p || file.startsWith(`${p}/`));
  return { include, graph, loaded, covered };
}

for (const spec of SERVICES) {
  Deno.test(`deno task compile embeds every file ${spec.name} reads at run time`, async () => {
    const { include, graph, loaded, covered } = await embedding(spec);
    // Files imported only for their types are never read by the running code.
    const missing = loaded.filter((file) => !covered(file) && !graph.typesOnly.has(file));
    assert.deepEqual(missing, [], `read at run time but not embedded in dist/${spec.name}`);
    for (const path of include) {
      assert.ok(
        loaded.some((file) => file === path || file.startsWith(`${path}/`)),
        `${spec.name} never reads "${path}"`,
      );
    }
  });
}

Deno.test("the site's binary embeds its routes, islands, client and static files", async () => {
  const site = SERVICES.find((s) => s.name === "site")!;
  const { loaded, covered } = await embedding(site);
  for (
    const file of [
      "site/routes/index.tsx",
      "site/routes/c/[handle].tsx",
      "site/islands/HandleSearch.tsx",
      "site/client.ts",
      "site/static/style.css",
    ]
  ) {
    assert.ok(loaded.includes(file) && covered(file), file);
  }
  const lines = await compileTask(["--print"], {});
  const printed = words(lines[SERVICES.indexOf(site)]).join(" ");
  for (const path of site.include!) assert.ok(printed.includes(`--include ${path} `), path);
});
