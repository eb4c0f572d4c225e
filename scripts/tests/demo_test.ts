/**
 * `deno task demo` for real: the platform fed from the bundled capture answers with recent
 * interactions between people with distinct names, serves their bundled avatars (never the
 * internet), logs one stream of JSON lines with a `service` field, and stops cleanly on
 * Ctrl-C with no process left behind.
 */
import assert from "node:assert/strict";
import { freePort } from "@bsky/shared/testing/redis_server";
import { SERVICES } from "../services.ts";
import { eachLine } from "../log_stream.ts";

const root = new URL("../..", import.meta.url).pathname;
const CAPTURE = `${root}testdata/demo-pds/capture.bin.gz`;
const sidecar: {
  accounts: { did: string; handle: string; displayName: string; avatarFile: string | null }[];
} = JSON.parse(await Deno.readTextFile(`${CAPTURE}.json`));
const HANDLE: string = sidecar.accounts[0].handle;
const DAY = 24 * 3_600_000;

/** Sessions ids of running processes, by pid (field 6 of /proc/<pid>/stat). */
async function sessionOf(pid: number): Promise<number | undefined> {
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields[0] === "Z" ? undefined : Number(fields[3]);
  } catch {
    return undefined;
  }
}

async function processesInSession(sid: number): Promise<number[]> {
  const pids: number[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    const pid = Number(entry.name);
    if (Number.isInteger(pid) && await sessionOf(pid) === sid) pids.push(pid);
  }
  return pids;
}

function collect(stream: ReadableStream<Uint8Array>, into: string[]) {
  return eachLine(stream, (line) => into.push(line));
}

Deno.test("deno task demo serves the capture's interactions as recent ones and stops cleanly on Ctrl-C", async () => {
  // Every port of every service, and the demo's Redis, on free ports.
  const ports: Record<string, string> = { DEMO_REDIS_PORT: String(freePort()) };
  for (const spec of SERVICES) {
    for (const name of spec.env) if (name.endsWith("_PORT")) ports[name] ??= String(freePort());
  }
  const apiPort = ports.FART_PORT;
  assert.ok(apiPort, "the API's port is configurable");
  // A REDIS_URL that must be ignored: the demo never writes into a configured Redis.
  const env = { ...ports, REDIS_URL: "redis://127.0.0.1:1", LOG_LEVEL: "info" };
  // Its own session, so that the test can send SIGINT to the whole group, as Ctrl-C does.
  const task = new Deno.Command("setsid", {
    args: [Deno.execPath(), "task", "demo"],
    cwd: root,
    env,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const out: string[] = [];
  const err: string[] = [];
  const reading = Promise.all([collect(task.stdout, out), collect(task.stderr, err)]);
  let status: Deno.CommandStatus | undefined;
  try {
    let answer: { items?: unknown[]; from?: string; to?: string } = {};
    const deadline = Date.now() + 120_000;
    const url =
      `http://127.0.0.1:${apiPort}/v1/interactions/${HANDLE}?direction=both&window=24h&limit=10`;
    while (Date.now() < deadline && !(answer.items?.length)) {
      await new Promise((r) => setTimeout(r, 1000));
      answer = await fetch(url).then((r) => r.json(), () => ({}));
    }
    assert.ok(
      answer.items?.length,
      `${HANDLE} has interactions in the last 24 h: ${out.join("\n")}`,
    );
    const to = Date.parse(answer.to!);
    assert.ok(Math.abs(to - Date.now()) < 3_600_000, `the window ends now: ${answer.to}`);
    assert.equal(to - Date.parse(answer.from!), DAY);

    // The capture was recorded hours or days ago: only moved times fall in the last two hours.
    const recent = await fetch(url.replace("window=24h", "window=2h")).then((r) => r.json());
    assert.ok(recent.items?.length, "the capture's events count as happening now");

    // People, not placeholders: distinct names and handles, as the capture's profiles say.
    type Item = { did: string; handle: string; displayName: string | null; avatar: string | null };
    // The replay may still be going on a busy machine: waited for as the first answer was.
    const everyone = url.replace("limit=10", "limit=100");
    let people: Item[] = [];
    while (Date.now() < deadline) {
      people = (await fetch(everyone).then((r) => r.json())).items;
      if (people.length >= 5) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    assert.ok(people.length >= 5, `${people.length} people around ${HANDLE}`);
    const names = people.map((p) => p.displayName);
    assert.equal(new Set(names).size, names.length, `distinct names: ${names}`);
    assert.equal(new Set(people.map((p) => p.handle)).size, people.length);
    for (const p of people) {
      const account = sidecar.accounts.find((a) => a.did === p.did);
      assert.equal(p.displayName, account?.displayName, `${p.handle}'s name`);
      assert.doesNotMatch(p.handle, /^user\d+/);
    }
    // A real avatar, the very picture bundled with the capture, through the API and the site.
    const pictured = people.find((p) => p.avatar)!;
    assert.ok(pictured, "someone has an avatar");
    const file = sidecar.accounts.find((a) => a.did === pictured.did)!.avatarFile!;
    const bundled = await Deno.readFile(new URL(file, `file://${CAPTURE}`));
    const avatar = await fetch(`http://127.0.0.1:${apiPort}${pictured.avatar}`);
    assert.equal(avatar.status, 200);
    assert.equal(avatar.headers.get("content-type"), "image/jpeg");
    assert.deepEqual(new Uint8Array(await avatar.arrayBuffer()), bundled);
    const viaSite = await fetch(
      `http://127.0.0.1:${ports.SITE_PORT}/avatar/${encodeURIComponent(pictured.did)}`,
    );
    assert.equal(viaSite.headers.get("content-type"), "image/jpeg");
    assert.deepEqual(new Uint8Array(await viaSite.arrayBuffer()), bundled);
    // Someone without one gets none, and the demo asked nothing outside this machine.
    const plain = sidecar.accounts.find((a) => !a.avatarFile)!;
    const none = await fetch(
      `http://127.0.0.1:${apiPort}/v1/avatar/${encodeURIComponent(plain.did)}`,
    );
    await none.body?.cancel();
    assert.notEqual(none.status, 200, `${plain.handle} has no avatar`);
    Deno.kill(-task.pid, "SIGINT");
    status = await task.status;
  } finally {
    if (!status) {
      try {
        Deno.kill(-task.pid, "SIGKILL");
      } catch { /* gone */ }
      await task.status;
    }
    await reading;
    // Redis runs in a session of its own: after a failure, stop it here.
    const redisPid = out.map((l) => /"msg":"Started the demo's redis-server.*"pid":(\d+)/.exec(l))
      .find(Boolean)?.[1];
    if (!status && redisPid) Deno.kill(Number(redisPid), "SIGKILL");
  }
  assert.equal(status.code, 0, `the demo exits 0 on Ctrl-C: ${err.join("\n")}`);

  // One stream: every line on stdout is JSON with a service; stderr has only the task line.
  const lines = out.filter((l) => l.trim()).map((l) => JSON.parse(l));
  for (const line of lines) assert.equal(typeof line.service, "string", JSON.stringify(line));
  assert.deepEqual(err.filter((l) => l.trim() && !/Task\S* +\S*demo/.test(l)), []);
  const services = new Set(lines.map((l) => l.service));
  // A service left off for want of its settings (the tasker without an account) says so.
  const on = SERVICES.filter((spec) =>
    !lines.some((l) => l.service === "start" && l.name === spec.name && / is off: /.test(l.msg))
  );
  assert.ok(on.length >= SERVICES.length - 1, "only the tasker may be off");
  for (const spec of on) assert.ok(services.has(spec.name), `${spec.name} logged`);

  // Avatars, the directory and the handle resolver are the demo's local stand-in.
  const standIn = lines.find((l) => l.service === "start" && /avatars/.test(l.msg));
  assert.match(standIn?.url ?? "", /^http:\/\/127\.0\.0\.1:\d+$/);
  const fart = lines.find((l) => l.msg === "Started service" && l.name === "fart");
  const allowNet = (fart.args as string[]).find((a) => a.startsWith("--allow-net="))!;
  for (const host of allowNet.slice("--allow-net=".length).split(",")) {
    // Loopback, or all local addresses where BIND_HOST asks the API to listen.
    assert.match(host, /^(127\.0\.0\.1|localhost|\[::1\]|0\.0\.0\.0|\[::\]):\d+$/, host);
  }

  // The demo's own Redis, never the configured one.
  const redisLine = lines.find((l) => l.service === "start" && /redis-server/.test(l.msg));
  assert.equal(redisLine?.url, `redis://127.0.0.1:${ports.DEMO_REDIS_PORT}`);

  // Every service started and exited 0; no process of the demo is left.
  const pids = [redisLine.pid as number];
  for (const spec of on) {
    const started = lines.find((l) => l.msg === "Started service" && l.name === spec.name);
    const exited = lines.find((l) => l.msg === "Service exited" && l.name === spec.name);
    assert.ok(started, `${spec.name} started`);
    assert.equal(exited?.code, 0, `${spec.name} exited 0: ${JSON.stringify(exited)}`);
    pids.push(started.pid);
  }
  for (const pid of pids) assert.equal(await sessionOf(pid), undefined, `process ${pid} is gone`);
  assert.deepEqual(await processesInSession(task.pid), []);
});
