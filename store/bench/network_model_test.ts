import assert from "node:assert/strict";
import type { FirehoseEvent } from "@bsky/shared/events";
import { isValidHandle } from "@bsky/shared/syntax";
import {
  activeShare,
  interactionsOf,
  jetstreamMix,
  labelOf,
  NETWORK,
  NetworkModel,
} from "./network_model.ts";

const END = Date.UTC(2026, 6, 4, 15, 30);
const SCALE = 1 / 400;

function first(seed: number, n: number): string {
  const model = new NetworkModel({ scale: SCALE, days: 1, end: END, seed });
  const out: FirehoseEvent[] = [];
  for (const e of model.events()) {
    out.push(e);
    if (out.length === n) break;
  }
  return JSON.stringify(out);
}

Deno.test("the network model is deterministic for a seed and differs between seeds", () => {
  const a = first(7, 20_000);
  assert.equal(a, first(7, 20_000));
  assert.notEqual(a, first(8, 20_000));
});

Deno.test("the network model's marginals match the network's figures and the relay sample", async () => {
  const model = new NetworkModel({ scale: SCALE, days: 1, end: END, seed: 3 });
  let last = -Infinity, lastSeq = 0, interactions = 0;
  const names: number[] = [], avatars: string[] = [], handles: string[] = [];
  for (const e of model.events()) {
    if (e.kind === "commit" && e.collection === "app.bsky.actor.profile" && e.action !== "delete") {
      names.push(e.displayName?.length ?? 0);
      if (e.avatar) avatars.push(e.avatar);
    }
    if (e.kind === "identity" && e.handle) handles.push(e.handle);
    assert.ok(e.time >= END - 86_400_000 && e.time < END, "every event is in the window");
    assert.ok(e.time >= last, "events come in time order");
    assert.ok(e.seq > lastSeq, "seqs rise");
    last = e.time;
    lastSeq = e.seq;
    interactions += interactionsOf(e);
  }
  const st = model.stats;
  assert.equal(st.interactions, interactions);
  const l = st.labels;
  const posts = l["post create"];
  // The mix of the scaled network (the celebrities' fans apart) is the network's.
  assert.ok(Math.abs(l["like create"] / posts - NETWORK.likesPerPost.value) < 0.5);
  assert.ok(Math.abs(l["repost create"] / posts - NETWORK.repostsPerPost.value) < 0.12);
  assert.ok(Math.abs(l["follow create"] / posts - NETWORK.followsPerPost.value) < 0.08);
  assert.ok(Math.abs(st.posts.replies / st.posts.all - NETWORK.replyShare.value) < 0.03);
  // … and the relay sample's, share by share, where the sample has a few events or more.
  const relay = jetstreamMix(
    await Deno.readTextFile(
      new URL("../../testdata/relay-2026-07-04/expected_v1.jsonl", import.meta.url),
    ),
  );
  const total = Object.values(l).reduce((a, b) => a + b, 0);
  for (const label of ["like create", "post create", "repost create", "follow create"]) {
    const model = l[label] / total, real = relay.labels[label] / relay.events;
    assert.ok(Math.abs(model - real) < 0.05, `${label}: model ${model}, relay ${real}`);
  }
  assert.ok(l["identity"] > 0 && l["account"] > 0 && l["like delete"] > 0 && l["block create"] > 0);
  assert.ok(l["profile create"] > 0, "new accounts have profiles");
  // Posters a day and monthly actives, on the whole network.
  const posters = st.postersPerDay[0] / SCALE;
  assert.ok(Math.abs(posters / NETWORK.postersPerDay.value - 1) < 0.15, `${posters} posters`);
  const monthly = activeShare(30) * model.engagedAtStart / SCALE;
  assert.ok(Math.abs(monthly / NETWORK.monthlyActive.value - 1) < 0.02, `${monthly} monthly`);
  // The heaviest account gets its real share whatever the scale: 10^6 a week.
  const perDay = st.celebrityReceived[0];
  assert.ok(Math.abs(perDay / (NETWORK.heaviestPerWeek.value / 7) - 1) < 0.1, `${perDay}`);
  // Heavy tails: the top 1% of senders send a large share, far above the median.
  const sent = Array.from(model.sentBase).filter((n) => n > 0).sort((a, b) => b - a);
  const top = sent.slice(0, Math.ceil(sent.length / 100)).reduce((a, b) => a + b, 0);
  assert.ok(top / sent.reduce((a, b) => a + b, 0) > 0.15);
  assert.ok(sent[0] > 20 * sent[Math.floor(sent.length / 2)]);
  // Profiles carry names of real length and avatar CIDs; handles are valid and of real length.
  names.sort((a, b) => a - b);
  const median = names[Math.floor(names.length / 2)];
  assert.ok(median >= 8 && median <= 14 && names.at(-1)! <= 41, `name lengths ${median}`);
  assert.ok(avatars.length > names.length / 2);
  assert.ok(avatars.every((a) => /^bafkrei[a-z2-7]{52}$/.test(a)));
  assert.ok(handles.length > 0 && handles.every((h) => isValidHandle(h) && h.length <= 40));
  assert.equal(labelOf({ v: 1, kind: "identity", seq: 1, time: 0, did: "did:plc:x" }), "identity");
});
