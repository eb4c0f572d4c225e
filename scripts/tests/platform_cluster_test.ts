/**
 * The whole platform on a Redis Cluster (3 masters, 3 replicas), proven end to end on real
 * Bluesky software: a local PDS and PLC drive a scripted workload; the firehose, two
 * indexers, the scheduler, the API and the site run as separate processes with the flags
 * `deno task start` gives them and REDIS_CLUSTER_NODES. The API's answers, the site's
 * circles tables and the scheduler's top lists equal the workload's ground truth; then,
 * while the workload goes on, a master is killed with SIGKILL (its replica takes over),
 * then an indexer, then the firehose, and slots move to another master (redis-cli
 * --cluster reshard): everything is compared again, nothing lost, nothing doubled.
 */
import assert from "node:assert/strict";
import { firehoseKeys } from "@bsky/shared/keys";
import { computeTruth, expectedTop } from "@bsky/store/testing/truth";
import { startPds } from "@bsky/shared/testing/pds";
import { startRedisCluster } from "@bsky/shared/testing/redis_cluster";
import { freePort } from "@bsky/shared/testing/redis_server";
import { settled } from "@bsky/shared/testing/settled";
import { runWorkload } from "@bsky/shared/testing/workload";
import { Platform } from "../testing/platform.ts";
import { check, checkTop, platformEnv, round } from "../testing/platform_checks.ts";

const PARTITIONS = 4;

Deno.test("the whole platform on a Redis Cluster, with two indexers, shows exactly the workload through a failover, kills and a reshard", async () => {
  await using pds = await startPds();
  await using cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
  const env = platformEnv(pds, {
    REDIS_CLUSTER_NODES: cluster.nodes,
    FIREHOSE_PARTITIONS: String(PARTITIONS),
    // A lease lapses within 3 s of its indexer's death: the other one takes over.
    INDEXER_LEASE_MS: "3000",
  });
  await using platform = new Platform(env);
  await platform.startAll();
  // A second indexer: the two share the partitions.
  await platform.start("indexer", "indexer-2", { INDEXER_METRICS_PORT: String(freePort()) });
  const masters = new Set(
    await Promise.all(firehoseKeys.streams(PARTITIONS).map((s) => cluster.masterOf(s))),
  );
  assert.ok(masters.size >= 2, `the partitions are on ${masters.size} masters`);

  const { truth: events, accounts: byName } = await runWorkload(pds.pdsUrl, pds.adminPassword);
  const accounts = [byName.alice, byName.bob, byName.carol, byName.dave];
  await settled(() => check(env, accounts, events), 90_000);
  assert.ok(expectedTop(computeTruth(events), byName.alice.did, "mutual").size > 0);

  let n = 0;
  // A master dies (SIGKILL); its replica takes its slots over.
  const topology = (await cluster.topology()).filter((m) => m.role === "master" && m.slots > 0);
  const victim = await cluster.masterOf(firehoseKeys.stream(0));
  await round(accounts, n++, events);
  await cluster.killMaster(victim);
  await round(accounts, n++, events);
  // An indexer dies; the other one takes its partitions over.
  await platform.kill("indexer");
  await round(accounts, n++, events);
  await round(accounts, n++, events);
  await platform.start("indexer");
  // The firehose dies and comes back.
  await platform.kill("firehose");
  await round(accounts, n++, events);
  await platform.start("firehose");
  await round(accounts, n++, events);
  // Slots move from a live master to another while the workload goes on.
  const live = (await cluster.topology()).filter((m) =>
    m.role === "master" && m.slots > 0 && !m.failed
  );
  assert.ok(live.length >= 2 && topology.length === 3);
  const moving = cluster.reshard(live[0].port, live[1].port, 500);
  await round(accounts, n++, events);
  await moving;
  await round(accounts, n++, events);
  await settled(() => check(env, accounts, events), 120_000);
  await settled(() => checkTop(env, events), 150_000, 1000);
});
