/**
 * Runs the replay server CLI (firehose/tools/replay_server.ts) as its own process, so that
 * a consumer never shares its thread with the server feeding it.
 */
import { freePort } from "@bsky/shared/testing/redis_server";
import { processCpuMs } from "./cpu.ts";

const CLI = new URL("../tools/replay_server.ts", import.meta.url).pathname;

export interface ReplayProcess extends AsyncDisposable {
  /** Base URL of the server (ws://127.0.0.1:port). */
  url: string;
  pid: number;
  /** CPU time the process used so far (user + system). */
  cpuMs(): Promise<number>;
  stop(): Promise<void>;
}

/** Starts the replay server CLI on a free port and waits until it listens. */
export async function startReplayProcess(
  capture: string,
  loops: number,
  /** Frames per event-loop turn; undefined keeps the CLI's default. */
  chunk?: number,
  /** Kills the process at once when aborted, even while it is starting. */
  signal?: AbortSignal,
  timeoutMs = 30_000,
): Promise<ReplayProcess> {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net=127.0.0.1",
      "--allow-read",
      CLI,
      "--capture",
      capture,
      "--port",
      String(port),
      "--loops",
      String(loops),
      ...(chunk === undefined ? [] : ["--chunk", String(chunk)]),
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let stopped = false;
  const stop = async () => {
    signal?.removeEventListener("abort", stop);
    if (!stopped) {
      stopped = true;
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
    }
    await child.status;
  };
  signal?.addEventListener("abort", stop);
  if (signal?.aborted) await stop();
  // The CLI says "Replaying N frames at ws://..." on stderr once it listens; keep reading so
  // that later output can never fill the pipe.
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  const ready = (async () => {
    while (true) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`Replay server exited before listening: ${seen.trim()}`);
      seen += value;
      if (seen.includes("Replaying")) break;
    }
    (async () => {
      while (!(await reader.read()).done) { /* drain */ }
    })().catch(() => {});
  })();
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      ready,
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`Replay server did not listen within ${timeoutMs} ms`)),
          timeoutMs,
        );
      }),
    ]);
  } catch (err) {
    await stop();
    throw err;
  } finally {
    clearTimeout(timer);
  }
  return {
    url: `ws://127.0.0.1:${port}`,
    pid: child.pid,
    cpuMs: () => processCpuMs(child.pid),
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
