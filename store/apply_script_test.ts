import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { APPLY_SCRIPT } from "./apply_script.ts";
import { recordArg } from "./apply.ts";
import { storeKeys } from "./layout.ts";
import { withStore } from "./testing/fixtures.ts";

/** The script's arguments: 30 days, 48 hours, an optional ack and lease, then `ops`. */
function args(ops: (string | number | Buffer)[], ack?: { ids: string[]; token: string }) {
  return [
    30 * 86400,
    48 * 3600,
    48,
    ack ? "s:{t}" : "",
    ack ? "g" : "",
    ack?.ids.length ?? 0,
    ack ? storeKeys.lease(0) : "",
    ack?.token ?? "",
    ...(ack?.ids ?? []),
    ...ops,
  ];
}

Deno.test("the apply script writes and acknowledges only while the caller holds the lease", async () => {
  await withStore(async (redis) => {
    const id = await redis.xadd("s:{t}", "*", "v", "1");
    await redis.xgroup("CREATE", "s:{t}", "g", "0");
    await redis.xreadgroup("GROUP", "g", "me", "STREAMS", "s:{t}", ">");
    await redis.set(storeKeys.lease(0), "other");
    const profile = ["p", 5, 10, "Name", "bafkreia"];
    const fenced = await redis.eval(APPLY_SCRIPT, 0, ...args(profile, { ids: [id!], token: "me" }));
    assert.deepEqual(fenced, [-1, 0, 0, 0, 0]);
    assert.equal(await redis.exists(storeKeys.profile(5)), 0, "nothing written");
    assert.equal((await redis.xpending("s:{t}", "g"))[0], 1, "nothing acknowledged");
    await redis.set(storeKeys.lease(0), "me");
    const held = await redis.eval(APPLY_SCRIPT, 0, ...args(profile, { ids: [id!], token: "me" }));
    assert.deepEqual(held, [1, 0, 0, 0, 0]);
    assert.equal(await redis.hget(storeKeys.profile(5), "name"), "Name");
    assert.equal((await redis.xpending("s:{t}", "g"))[0], 0, "acknowledged with the writes");
  });
});

Deno.test("the apply script counts each operation's outcome and refuses an unknown one", async () => {
  await withStore(async (redis) => {
    const like = (rkey: string) =>
      recordArg(7, "app.bsky.feed.like", rkey, 490_000, Buffer.of(0x10, 0, 0, 9));
    const ops = [
      ["c", like("3kaaaaaaaaaa2")], // applied
      ["c", like("3kaaaaaaaaaa2")], // duplicate
      ["d", recordArg(7, "app.bsky.feed.like", "3kaaaaaaaaaa3", 490_000)], // unmatched
      ["h", 7, 1, "seven.test"], // applied
      ["h", 7, 1, "other.test"], // duplicate: not newer
      ["s", 7, 2, "0", "deactivated", 490_000], // applied
      ["o", 7, "did:plc:seven", "out:NOCODE12"], // unmatched
      ["d", like("3kaaaaaaaaaa2")], // applied
      ["d", like("3kaaaaaaaaaa2")], // duplicate: deleted already
    ].flat();
    assert.deepEqual(await redis.eval(APPLY_SCRIPT, 0, ...args(ops)), [4, 3, 2, 0, 0]);
    assert.equal(await redis.hget(storeKeys.profile(7), "handle"), "seven.test");
    assert.equal(await redis.sismember(storeKeys.hidden, "7"), 1);
    await assert.rejects(
      () => redis.eval(APPLY_SCRIPT, 0, ...args(["z", 8, "p", 8, 1, "", ""])),
      /Unknown operation "z" at argument 9/,
    );
    assert.equal(await redis.exists(storeKeys.profile(8)), 0, "nothing after it is applied");
  });
});
