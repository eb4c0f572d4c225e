/** Child processes in the scripts' tests. */

/** Sends a signal to a child process unless it has ended meanwhile. */
export function signal(child: Deno.ChildProcess, name: Deno.Signal): void {
  try {
    child.kill(name);
  } catch (err) {
    // Deno's answer for a child that has already ended.
    if (!(err instanceof TypeError)) throw err;
  }
}
