/**
 * Records a real PDS firehose: starts the local PDS (shared/testing/pds.ts), subscribes to
 * com.atproto.sync.subscribeRepos from cursor 0, runs a concurrent workload shaped like the
 * real network, and writes every raw frame as `[u32 LE length][frame bytes]...`, gzipped,
 * plus a sidecar `<out>.json` with counts and the accounts.
 *
 * The accounts are people with realistic names and handles (demo_people.ts); most set an
 * avatar, a small picture drawn for them and uploaded to the PDS as a blob. Those pictures
 * are written beside the capture (`--avatars`, `<out folder>/avatars/` by default) and
 * named in the sidecar, so that a replay can serve them without the PDS.
 *
 *   deno run -A firehose/tools/record_pds.ts [--accounts 24] [--writes 4000] [--seed 1]
 *     [--out firehose/bench/pds_capture.bin.gz] [--avatars DIR]
 *
 * The demo's capture: `--out testdata/demo-pds/capture.bin.gz`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { decodeFirst } from "@atcute/cbor";
import { startPds } from "../../shared/testing/pds.ts";
import { type Account, PdsClient, type RecordRef } from "../../shared/testing/pds_client.ts";
import { seededRandom } from "../../shared/testing/seeded_random.ts";
import { avatarJpeg, changedHandle, type DemoPerson, demoPerson } from "./demo_people.ts";

const { values: args } = parseArgs({
  options: {
    accounts: { type: "string", default: "24" },
    writes: { type: "string", default: "4000" },
    seed: { type: "string", default: "1" },
    out: { type: "string", default: "firehose/bench/pds_capture.bin.gz" },
    avatars: { type: "string" },
    help: { type: "boolean", short: "h" },
  },
});
if (args.help) {
  console.log(
    "Usage: record_pds.ts [--accounts N=24] [--writes N=4000] [--seed N=1] [--out FILE] " +
      "[--avatars DIR]",
  );
  Deno.exit(0);
}
const accountCount = positiveInt("accounts", args.accounts, 3);
const writeTarget = positiveInt("writes", args.writes, 10);
const seed = positiveInt("seed", args.seed, 0);
const outPath = args.out;
const outDir = outPath.replace(/\/[^/]*$/, "") || ".";
const avatarDir = (args.avatars ?? `${outDir}/avatars`).replace(/\/+$/, "");

function positiveInt(name: string, raw: string, min: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) {
    console.error(`Cannot parse --${name}: "${raw}" is not an integer >= ${min}`);
    Deno.exit(2);
  }
  return n;
}

// Seeded, so a given seed asks for the same workload.
const random = seededRandom(seed);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];

/** Samples ranks 0..n-1 with weight 1/(rank+1)^s: a few accounts get most attention. */
function zipf(n: number, s: number): () => number {
  const cumulative: number[] = [];
  let sum = 0;
  for (let k = 1; k <= n; k++) cumulative.push(sum += 1 / k ** s);
  return () => {
    const x = random() * sum;
    let lo = 0, hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

interface Actor {
  account: Account;
  person: DemoPerson;
  /** The avatar's JPEG, and its blob's CID once uploaded. */
  avatar?: { bytes: Uint8Array<ArrayBuffer>; file: string; cid?: string };
  posts: (RecordRef & { root?: RecordRef })[];
  likes: RecordRef[];
  reposts: RecordRef[];
  follows: Map<string, RecordRef>;
  /** Subjects already liked, reposted or blocked: the PDS would replace a second one. */
  liked: Set<string>;
  reposted: Set<string>;
  blocked: Set<string>;
  busy: Promise<unknown>;
}

type Op =
  | "like"
  | "post"
  | "repost"
  | "follow"
  | "block"
  | "delete"
  | "profile"
  | "handle"
  | "pause";
const MIX: [Op, number][] = [
  ["like", 61.5],
  ["post", 15],
  ["repost", 10],
  ["follow", 8],
  ["block", 1],
  ["delete", 3],
  ["profile", 1.5],
];

function plan(): Op[] {
  const total = MIX.reduce((a, [, w]) => a + w, 0);
  const ops: Op[] = [];
  // Two handle changes and a deactivate/activate pair (2 writes) at set points.
  const special = new Map<number, Op>([
    [Math.floor(writeTarget * 0.3), "handle"],
    [Math.floor(writeTarget * 0.5), "pause"],
    [Math.floor(writeTarget * 0.7), "handle"],
  ]);
  for (let i = 0; ops.length < writeTarget; i++) {
    const forced = special.get(i);
    if (forced) {
      ops.push(forced);
      continue;
    }
    let x = random() * total;
    ops.push(MIX.find(([, w]) => (x -= w) < 0)?.[0] ?? "like");
  }
  return ops;
}

const counts: Record<string, number> = {};
const bump = (key: string, by = 1) => counts[key] = (counts[key] ?? 0) + by;

await using pds = await startPds();
const client = new PdsClient(pds.pdsUrl, { adminPassword: pds.adminPassword });
console.error(`PDS at ${pds.pdsUrl}; recording to ${outPath}`);

// Frames go straight into gzip as they arrive; the file is renamed into place at the end.
await Deno.mkdir(outDir, { recursive: true });
const tmpPath = `${outPath}.tmp`;
const file = await Deno.open(tmpPath, { write: true, create: true, truncate: true });
const gzip = new CompressionStream("gzip");
const gzipDone = gzip.readable.pipeTo(file.writable);
const gzipIn = gzip.writable.getWriter();

const frameTypes: Record<string, number> = {};
const collections: Record<string, Record<string, number>> = {};
let frames = 0, rawBytes = 0, lastSeq = 0, seqGaps = 0, lastFrameAt = 0;
let expectedFrames = 0;
let onFrame = () => {};
const ws = new WebSocket(`${pds.firehoseUrl}/xrpc/com.atproto.sync.subscribeRepos?cursor=0`);
ws.binaryType = "arraybuffer";
const wsClosed = new Promise<void>((resolve) => ws.onclose = () => resolve());
let wsError: Error | undefined;
ws.onerror = (e) => wsError = new Error(`Firehose failed: ${(e as ErrorEvent).message}`);
ws.onmessage = (e) => {
  const bytes = new Uint8Array(e.data as ArrayBuffer);
  const prefix = new Uint8Array(4);
  new DataView(prefix.buffer).setUint32(0, bytes.length, true);
  gzipIn.write(prefix);
  gzipIn.write(bytes);
  frames++;
  rawBytes += 4 + bytes.length;
  lastFrameAt = performance.now();
  const [header, rest] = decodeFirst(bytes);
  const [body] = decodeFirst(rest);
  const t = header.op === -1 ? `error:${body.error}` : String(header.t);
  frameTypes[t] = (frameTypes[t] ?? 0) + 1;
  if (typeof body.seq === "number") {
    if (lastSeq && body.seq !== lastSeq + 1) seqGaps++;
    lastSeq = body.seq;
  }
  for (const op of (t === "#commit" ? body.ops : []) as { action: string; path: string }[]) {
    const c = collections[op.path.split("/")[0]] ??= {};
    c[op.action] = (c[op.action] ?? 0) + 1;
  }
  onFrame();
};

// Frames each call emits; used to know when the firehose has caught up.
const FRAMES = { createAccount: 4, write: 1, handle: 1, deactivate: 1, activate: 3 };

/**
 * Writes the actor's profile: their name, and their avatar uploaded as a blob (the same
 * picture each time, so the same CID).
 */
async function putProfile(actor: Actor): Promise<void> {
  const me = actor.account;
  const auth = `Bearer ${me.accessJwt}`;
  const record: Record<string, unknown> = {
    $type: "app.bsky.actor.profile",
    displayName: actor.person.displayName,
    createdAt: new Date().toISOString(),
  };
  if (actor.avatar) {
    const out = await client.call("com.atproto.repo.uploadBlob", {
      auth,
      body: actor.avatar.bytes,
      contentType: "image/jpeg",
    });
    const blob = out?.blob as { ref?: { $link?: string } } | undefined;
    if (!blob?.ref?.$link) throw new Error(`No blob ref in ${JSON.stringify(out)}`);
    actor.avatar.cid = blob.ref.$link;
    record.avatar = blob;
  }
  await client.call("com.atproto.repo.putRecord", {
    auth,
    body: { repo: me.did, collection: "app.bsky.actor.profile", rkey: "self", record },
  });
}

await Deno.mkdir(avatarDir, { recursive: true });
const actors: Actor[] = [];
for (let i = 0; i < accountCount; i++) {
  const person = demoPerson(i);
  const account = await client.createAccount(person.handle);
  expectedFrames += FRAMES.createAccount;
  let avatar: Actor["avatar"];
  if (person.hasAvatar) {
    const bytes = avatarJpeg(i, person.initials);
    const file = `${person.handle}.jpg`;
    await Deno.writeFile(`${avatarDir}/${file}`, bytes);
    avatar = { bytes, file };
  }
  actors.push({
    account,
    person,
    avatar,
    posts: [],
    likes: [],
    reposts: [],
    follows: new Map(),
    liked: new Set(),
    reposted: new Set(),
    blocked: new Set(),
    busy: Promise.resolve(),
  });
}
bump("createAccount", accountCount);
// Everyone says who they are before the rest begins.
for (const actor of actors) {
  await putProfile(actor);
  expectedFrames += FRAMES.write;
  bump("profile");
}

// Popularity: a shuffled ranking, sampled heavy-tailed, decides who gets liked, replied to,
// quoted, mentioned and followed; who writes is chosen with a milder skew.
const ranking = [...actors].sort(() => random() - 0.5);
const popular = zipf(accountCount, 1.1);
const active = zipf(accountCount, 0.5);
const target = (not?: Actor): Actor => {
  for (;;) {
    const a = ranking[popular()];
    if (a !== not) return a;
  }
};
const targetPost = (not: Actor) => {
  for (let tries = 0; tries < 8; tries++) {
    const posts = target(not).posts;
    if (posts.length > 0) {
      return posts[posts.length - 1 - Math.floor(random() * Math.min(20, posts.length))];
    }
  }
  return undefined;
};

let handleChanges = 0;
async function run(actor: Actor, op: Op): Promise<void> {
  const me = actor.account;
  const write = (kind: string, n = FRAMES.write) => {
    bump(kind);
    expectedFrames += n;
  };
  switch (op) {
    case "like": {
      let post = targetPost(actor);
      for (let tries = 0; post && actor.liked.has(post.uri) && tries < 5; tries++) {
        post = targetPost(actor);
      }
      if (!post || actor.liked.has(post.uri)) return run(actor, "post");
      actor.liked.add(post.uri);
      actor.likes.push(await me.like(post));
      return write("like");
    }
    case "repost": {
      const post = targetPost(actor);
      if (!post || actor.reposted.has(post.uri)) return run(actor, "like");
      actor.reposted.add(post.uri);
      actor.reposts.push(await me.repost(post));
      return write("repost");
    }
    case "post": {
      const parent = targetPost(actor);
      const r = random();
      const kind = !parent
        ? "plain"
        : r < 0.5
        ? "reply"
        : r < 0.58
        ? "quote"
        : r < 0.62
        ? "quoteWithMedia"
        : r < 0.72
        ? "mention"
        : "plain";
      const text = `${kind} ${Math.floor(random() * 1e9).toString(36)} ✨ from ${me.handle}`;
      const mentioned = kind === "mention" || (kind === "reply" && random() < 0.1)
        ? [target(actor).account]
        : undefined;
      const root = parent && (parent.root ?? parent);
      const ref = await me.post({
        text,
        langs: [pick(["en", "en", "en", "ja", "pt", "de"])],
        reply: kind === "reply" && parent && root ? { root, parent } : undefined,
        quote: kind.startsWith("quote") ? parent : undefined,
        quoteWithMedia: kind === "quoteWithMedia",
        mentions: mentioned,
      });
      actor.posts.push(kind === "reply" ? { ...ref, root } : ref);
      if (mentioned && kind !== "mention") bump("post:reply+mention");
      write("post");
      return write(`post:${kind}`, 0);
    }
    case "follow": {
      // Popular accounts first; once those are followed, anyone not followed yet.
      let did = target(actor).account.did;
      for (let tries = 0; actor.follows.has(did) && tries < 5; tries++) {
        did = target(actor).account.did;
      }
      if (actor.follows.has(did)) {
        const rest = actors.filter((a) => a !== actor && !actor.follows.has(a.account.did));
        if (rest.length === 0) return run(actor, "like");
        did = pick(rest).account.did;
      }
      actor.follows.set(did, await me.follow(did));
      return write("follow");
    }
    case "block": {
      const others = actors.filter((a) => a !== actor && !actor.blocked.has(a.account.did));
      if (others.length === 0) return run(actor, "like");
      const did = pick(others).account.did;
      actor.blocked.add(did);
      await me.block(did);
      return write("block");
    }
    case "delete": {
      const r = random();
      const pool = r < 0.5 ? actor.likes : r < 0.7 ? actor.reposts : r < 0.85 ? actor.posts : null;
      let uri: string | undefined;
      if (pool && pool.length > 0) uri = pool.splice(Math.floor(random() * pool.length), 1)[0].uri;
      else if (!pool && actor.follows.size > 0) {
        const [did, ref] = pick([...actor.follows]);
        actor.follows.delete(did);
        uri = ref.uri;
      }
      if (!uri) return run(actor, "like");
      await me.deleteRecord(uri);
      write("delete");
      return write(`delete:${uri.split("/")[3]}`, 0);
    }
    case "profile": {
      await putProfile(actor);
      return write("profile");
    }
    case "handle": {
      await me.updateHandle(changedHandle(me.handle, handleChanges++));
      return write("handleChange", FRAMES.handle);
    }
    case "pause": {
      await me.deactivate();
      write("deactivate", FRAMES.deactivate);
      await new Promise((resolve) => setTimeout(resolve, 250));
      await me.activate();
      return write("activate", FRAMES.activate);
    }
  }
}

const ops = plan();
let next = 0, done = 0, failed = 0;
const started = performance.now();
const progress = setInterval(() => {
  const s = (performance.now() - started) / 1000;
  console.error(
    `${done}/${ops.length} writes, ${frames} frames, ${(done / s).toFixed(0)} writes/s`,
  );
}, 5000);
async function worker(): Promise<void> {
  while (next < ops.length) {
    const op = ops[next++];
    const actor = actors[active()];
    // One write at a time per repo, as a person's client would do.
    const turn = actor.busy.then(() => run(actor, op));
    actor.busy = turn.catch(() => {});
    try {
      await turn;
    } catch (err) {
      failed++;
      console.error(`${op} by ${actor.account.handle} failed:`, err);
    }
    done++;
  }
}
await Promise.all(actors.map(() => worker()));
const writesDoneAt = performance.now();
clearInterval(progress);
for (const post of ["plain", "reply", "quote", "quoteWithMedia", "mention"]) {
  counts[`post:${post}`] ??= 0;
}

// Wait for the firehose to deliver every frame the writes caused.
await new Promise<void>((resolve, reject) => {
  const deadline = setTimeout(
    () =>
      reject(
        new Error(
          `Firehose stalled: ${frames} of ${expectedFrames} frames: ${
            JSON.stringify({ lastSeq, seqGaps, counts, frameTypes, collections })
          }`,
        ),
      ),
    30_000,
  );
  onFrame = () => {
    if (frames < expectedFrames && !wsError) return;
    clearTimeout(deadline);
    if (wsError) reject(wsError);
    else resolve();
  };
  onFrame();
});
// Anything the PDS sends beyond what we expected arrives right behind; catch it too.
await new Promise((resolve) => setTimeout(resolve, 500));
ws.close();
await wsClosed;
await gzipIn.close();
await gzipDone;
await Deno.rename(tmpPath, outPath);

/** `path` as seen from the folder `from`, both relative to the working directory. */
function relativeTo(from: string, path: string): string {
  const a = from.split("/").filter((p) => p && p !== ".");
  const b = path.split("/").filter((p) => p && p !== ".");
  let common = 0;
  while (common < a.length && a[common] === b[common]) common++;
  return [...a.slice(common).map(() => ".."), ...b.slice(common)].join("/");
}

const seconds = (lastFrameAt - started) / 1000;
const writes = done + (counts.activate ?? 0) - failed;
const summary = {
  recordedAt: new Date().toISOString(),
  tool: "firehose/tools/record_pds.ts",
  format: "gzip of [u32 little-endian length][frame bytes] repeated",
  seed,
  accounts: actors.map((a) => ({
    did: a.account.did,
    handle: a.account.handle,
    displayName: a.person.displayName,
    // The blob's CID, and its JPEG's path from the sidecar's folder.
    avatar: a.avatar?.cid ?? null,
    avatarFile: a.avatar ? relativeTo(outDir, `${avatarDir}/${a.avatar.file}`) : null,
  })),
  writes,
  failedWrites: failed,
  workload: Object.fromEntries(Object.entries(counts).sort()),
  frames: {
    total: frames,
    expected: expectedFrames,
    byType: frameTypes,
    seqLast: lastSeq,
    seqGaps,
    rawBytes,
  },
  ops: collections,
  timing: {
    workloadSeconds: +((writesDoneAt - started) / 1000).toFixed(2),
    writesPerSecond: +(writes / ((writesDoneAt - started) / 1000)).toFixed(1),
    framesPerSecond: +(frames / seconds).toFixed(1),
  },
  gzipBytes: (await Deno.stat(outPath)).size,
};
await Deno.writeTextFile(`${outPath}.json`, JSON.stringify(summary, null, 2) + "\n");
console.error(
  `${frames} frames (${rawBytes} bytes raw, ${summary.gzipBytes} gzipped) in ${
    seconds.toFixed(1)
  } s: ${summary.timing.framesPerSecond} frames/s, ${summary.timing.writesPerSecond} writes/s`,
);
if (failed > 0) {
  console.error(`${failed} writes failed`);
  Deno.exitCode = 1;
}
