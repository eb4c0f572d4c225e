/**
 * Runs the replay server (firehose/tools/replay_server.ts) as its own process, so that a
 * consumer never shares its thread with the server feeding it.
 *
 * Also a CLI, the stock one plus --chunk: the stock CLI sends 64 frames per event-loop
 * turn and each turn waits on a setTimeout(0) of about 2 ms, which caps it near 25k
 * frames/s whatever the client can take.
 *
 *   deno run --allow-net=127.0.0.1 --allow-read firehose/bench/replay_process.ts \
 *     --capture FILE --port 9100 --loops 0 --chunk 1024
 */
import { parseArgs } from "node:util";
import { freePort } from "@bsky/shared/testing/redis_server";
import { readCaptureFile } from "../capture.ts";
import { startReplayServer } from "../tools/replay_server.ts";
import { processCpuMs } from "./cpu.ts";

const STOCK_CLI = new URL("../tools/replay_server.ts", import.meta.url).pathname;

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
  /** Frames per event-loop turn; undefined runs the stock CLI (64). */
  chunk?: number,
  /** Kills the process at once when aborted, even while it is starting. */
  signal?: AbortSignal,
  timeoutMs = 30_000,
): Promise<ReplayProcess> {
  const port = freePort();
  const cli = chunk === undefined ? STOCK_CLI : new URL(import.meta.url).pathname;
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net=127.0.0.1",
      "--allow-read",
      cli,
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

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      capture: { type: "string" },
      port: { type: "string", default: "9100" },
      loops: { type: "string", default: "0" },
      chunk: { type: "string", default: "1024" },
    },
  });
  if (!values.capture) {
    console.error(
      "Usage: replay_process.ts --capture FILE [--port 9100] [--loops 0] [--chunk 1024]",
    );
    Deno.exit(2);
  }
  const frames = await readCaptureFile(values.capture);
  const server = startReplayServer({
    frames,
    port: Number(values.port),
    loops: Number(values.loops),
    chunk: Number(values.chunk),
  });
  console.error(`Replaying ${frames.length} frames at ${server.url}`);
}
