/**
 * A real local Bluesky network for tests: a PLC directory and a PDS from `@atproto/dev-env`,
 * run by Node 22 in a child process (dev-env does not run under Deno).
 *
 * ```ts
 * await using pds = await startPds();
 * const ws = new WebSocket(`${pds.firehoseUrl}/xrpc/com.atproto.sync.subscribeRepos`);
 * ```
 *
 * @module
 */

/** Options of {@linkcode startPds}. */
export interface StartPdsOptions {
  /** Port of the PDS; a free one when left out. */
  pdsPort?: number;
  /** Port of the PLC directory; a free one when left out. */
  plcPort?: number;
  /** How long to wait for the network once Node is started, in ms (default 60 000). */
  readyTimeoutMs?: number;
  /** Forward the network's stderr (and dev-env's logs) to this process's stderr. */
  logs?: boolean;
}

/** A running local network. Stop it with `stop()` or `await using`. */
export interface LocalPds {
  /** `http://localhost:PORT` of the PDS. */
  pdsUrl: string;
  /** `http://localhost:PORT` of the PLC directory the PDS registers DIDs with. */
  plcUrl: string;
  /** `ws://localhost:PORT`: the PDS's base URL for `/xrpc/com.atproto.sync.subscribeRepos`. */
  firehoseUrl: string;
  /** Password of the PDS admin API (HTTP Basic, user `admin`). */
  adminPassword: string;
  /** Closes the network, waits for the process to exit and removes its data. Idempotent. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** The network did not come up. */
export class PdsStartError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "PdsStartError";
  }
}

const setupScript = filePath(new URL("./pds/setup.sh", import.meta.url));
const networkScript = filePath(new URL("./pds/network.mjs", import.meta.url));
const STDERR_TAIL_BYTES = 8192;

let nodePath: Promise<string> | undefined;

/**
 * Installs the harness when needed (`pds/setup.sh`: minutes the first time, milliseconds
 * after) and returns the path of its Node 22 binary.
 */
export function ensurePdsHarness(): Promise<string> {
  nodePath ??= runSetup().catch((err) => {
    nodePath = undefined;
    throw err;
  });
  return nodePath;
}

async function runSetup(): Promise<string> {
  const out = await new Deno.Command("bash", {
    args: [setupScript],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
  const node = lines.at(-1)?.trim() ?? "";
  if (!out.success || node === "") {
    throw new PdsStartError(
      `Cannot set up the PDS harness: ${setupScript} exited with ${out.code}`,
    );
  }
  return node;
}

/** Starts a PLC and a PDS on localhost and resolves once both accept requests. */
export async function startPds(opts: StartPdsOptions = {}): Promise<LocalPds> {
  const node = await ensurePdsHarness();
  const env: Record<string, string> = {};
  if (opts.pdsPort !== undefined) env.PDS_HARNESS_PDS_PORT = String(opts.pdsPort);
  if (opts.plcPort !== undefined) env.PDS_HARNESS_PLC_PORT = String(opts.plcPort);
  if (opts.logs) env.PDS_HARNESS_LOGS = "1";

  const child = new Deno.Command(node, {
    args: [networkScript],
    env,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdin = child.stdin.getWriter();

  let stderrTail = "";
  const stderrDone = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of child.stderr) {
      if (opts.logs) await Deno.stderr.write(chunk);
      stderrTail = (stderrTail + decoder.decode(chunk, { stream: true })).slice(-STDERR_TAIL_BYTES);
    }
  })();

  const lines = readLines(child.stdout);
  let stdoutDrained: Promise<void> | undefined;
  // Whatever comes after the ready line is not ours to interpret; drain it.
  const drainStdout = () =>
    stdoutDrained ??= (async () => {
      for await (const _ of lines);
    })();

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      // Closing stdin asks the network to shut down; signals are the fallback.
      await stdin.close().catch(() => {});
      const exited = await withTimeout(child.status, 15_000);
      if (!exited) {
        trySignal(child, "SIGTERM");
        if (!(await withTimeout(child.status, 5_000))) trySignal(child, "SIGKILL");
      }
      await child.status;
      await Promise.allSettled([stderrDone, drainStdout()]);
    })();
    return stopped;
  };

  const timeoutMs = opts.readyTimeoutMs ?? 60_000;
  let ready: Record<string, unknown> | undefined;
  let failure: string | undefined;
  try {
    const first = await withTimeout(lines.next(), timeoutMs);
    if (first === undefined) failure = `no ready line within ${timeoutMs} ms`;
    else if (first.done) failure = "the network exited before it was ready";
    else ready = parseReady(first.value);
    if (!ready && !failure) failure = `unexpected output "${first?.value}"`;
  } catch (err) {
    failure = String(err);
  }
  if (failure !== undefined || !ready) {
    await stop();
    const status = await child.status;
    throw new PdsStartError(
      `Cannot start the local PDS: ${failure} (exit code ${status.code}); stderr tail:\n${stderrTail}`,
    );
  }

  drainStdout();
  const pdsUrl = String(ready.pdsUrl);
  return {
    pdsUrl,
    plcUrl: String(ready.plcUrl),
    firehoseUrl: pdsUrl.replace(/^http/, "ws"),
    adminPassword: String(ready.adminPassword),
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

function parseReady(line: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(line);
    if (
      value?.ready === true && typeof value.pdsUrl === "string" &&
      typeof value.plcUrl === "string" && typeof value.adminPassword === "string"
    ) return value;
  } catch {
    // not JSON: reported by the caller
  }
  return undefined;
}

async function* readLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let buffered = "";
  // Typed by hand: with the DOM types in the program (the site's pages), TextDecoderStream
  // takes a BufferSource, which Deno's ReadableStream<Uint8Array> does not satisfy.
  const decoder = new TextDecoderStream() as unknown as TransformStream<Uint8Array, string>;
  for await (const text of stream.pipeThrough(decoder)) {
    buffered += text;
    let nl: number;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      yield buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
    }
  }
  if (buffered !== "") yield buffered;
}

/** Resolves to the promise's value, or to undefined once `ms` have passed. */
async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<undefined>((resolve) => timer = setTimeout(() => resolve(undefined), ms)),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function trySignal(child: Deno.ChildProcess, signal: Deno.Signal): void {
  try {
    child.kill(signal);
  } catch {
    // already exited
  }
}

function filePath(url: URL): string {
  return decodeURIComponent(url.pathname);
}
