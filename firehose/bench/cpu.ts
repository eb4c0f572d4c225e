/** CPU accounting from /proc (Linux), to see who else used the machine during a run. */
import process from "node:process";

/** Linux reports process and system times in clock ticks of 1/100 s (USER_HZ). */
const TICK_MS = 10;

/** CPU time of this process so far (user + system). */
export function ownCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** CPU time of a process (user + system); 0 once it is gone. */
export async function processCpuMs(pid: number): Promise<number> {
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    // Fields after the command name, which may hold spaces: utime and stime are 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return 0;
  }
}

/** Busy CPU time of the whole machine, all cores (everything but idle and iowait). */
export function systemBusyMs(): number {
  try {
    const line = Deno.readTextFileSync("/proc/stat").split("\n", 1)[0];
    const t = line.split(/\s+/).slice(1, 9).map(Number);
    const total = t.reduce((a, b) => a + b, 0);
    return (total - t[3] - t[4]) * TICK_MS;
  } catch {
    return NaN;
  }
}
