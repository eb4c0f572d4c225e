/**
 * What `deno task demo` feeds the platform from: the bundled capture of a real PDS
 * (testdata/demo-pds/capture.bin.gz) replayed from 127.0.0.1 with its event times moved to
 * now, and a stand-in on 127.0.0.1 for the network services the API and the scheduler ask
 * (the capture's avatars in the CDN's manner, a 404 from the directory and handle
 * resolver): the demo never reaches the internet.
 */
import { readCaptureFile } from "../firehose/capture.ts";
import {
  type ReplayServer,
  shiftToNow,
  startReplayServer,
} from "../firehose/tools/replay_server.ts";
import type { Fail } from "./local_redis.ts";
import { say } from "./log_stream.ts";

export const CAPTURE = "testdata/demo-pds/capture.bin.gz";

/** The CDN's path of an account's avatar thumbnail (fart/avatar.ts asks for it so). */
const AVATAR_PATH =
  /^\/img\/avatar_thumbnail\/plain\/(did:[a-z]+:[a-zA-Z0-9._:-]+)\/(b[a-z2-7]+)@jpeg$/;

/**
 * The demo's stand-in for the network's services the API and the scheduler ask: the capture's
 * avatars where the CDN serves thumbnails, by DID and blob CID as the sidecar names them, and
 * a 404 for anything else (a DID document, a handle), as the real ones answer for the
 * capture's accounts, which live on no public PDS.
 */
async function startStandIn(root: string, sidecar: {
  accounts: { did: string; avatar?: string | null; avatarFile?: string | null }[];
}): Promise<Deno.HttpServer<Deno.NetAddr>> {
  const folder = `${root}${CAPTURE.replace(/[^/]*$/, "")}`;
  const avatars = new Map<string, Uint8Array<ArrayBuffer>>();
  for (const { did, avatar, avatarFile } of sidecar.accounts) {
    if (!avatar || !avatarFile || !/^[\w-]+(\/[\w.-]+)*$/.test(avatarFile)) continue;
    avatars.set(`${did}/${avatar}`, await Deno.readFile(`${folder}${avatarFile}`));
  }
  const { promise: listening, resolve } = Promise.withResolvers<void>();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => resolve() },
    (req) => {
      const m = AVATAR_PATH.exec(new URL(req.url).pathname);
      const bytes = m && req.method === "GET" ? avatars.get(`${m[1]}/${m[2]}`) : undefined;
      if (!bytes) return new Response("Not found", { status: 404 });
      return new Response(bytes, {
        headers: { "content-type": "image/jpeg", "cache-control": "public, max-age=86400" },
      });
    },
  );
  await listening;
  return server;
}

/**
 * Starts the replay and the stand-in, and points `env`'s firehose and outside services at
 * them.
 */
export async function startDemoSources(
  root: string,
  env: Record<string, string | undefined>,
  fail: Fail,
): Promise<{ replay: ReplayServer; standIn: Deno.HttpServer }> {
  const frames = await readCaptureFile(`${root}${CAPTURE}`).catch((err) =>
    fail(`Cannot read the demo capture "${CAPTURE}"`, { err: String(err) })
  );
  const shift = shiftToNow(frames);
  const replay = startReplayServer({ frames, port: 0, loops: 1, timeShiftMs: shift });
  Object.assign(env, { FIREHOSE_URL: replay.url, FIREHOSE_SOURCE: "relay", FIREHOSE_VERIFY: "" });
  // The replay goes through the capture once and then stays quiet: that is not a stall.
  env.FIREHOSE_STALL_SECONDS ||= "3600";
  const sidecar = JSON.parse(await Deno.readTextFile(`${root}${CAPTURE}.json`));
  const server = await startStandIn(root, sidecar).catch((err) =>
    fail("Cannot serve the demo capture's avatars", { err: String(err) })
  );
  const local = `http://127.0.0.1:${server.addr.port}`;
  // Every outside service a process would ask is the stand-in: the demo stays on this machine.
  Object.assign(env, {
    FART_AVATAR_CDN_URL: local,
    FART_PLC_URL: local,
    FART_HANDLE_RESOLVER_URL: local,
    SCHEDULER_PLC_URL: local,
    SCHEDULER_HANDLE_RESOLVER_URL: local,
    FIREHOSE_PLC_URL: local,
  });
  say("Serving the capture's avatars, and standing in for the directory and handle resolver", {
    url: local,
  });
  say("Replaying a recorded PDS capture with its event times moved to now", {
    url: replay.url,
    frames: frames.length,
    shiftedByHours: Math.round(shift / 36e5),
    try: `http://127.0.0.1:${env.FART_PORT || 8000}/v1/circles/${
      sidecar.accounts[0].handle
    }.svg?window=24h`,
  });
  return { replay, standIn: server };
}
