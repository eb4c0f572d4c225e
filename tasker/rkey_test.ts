import assert from "node:assert/strict";
import { isValidTid } from "@bsky/shared/syntax";
import { replyRkey, tid } from "./rkey.ts";

Deno.test("tid() encodes microseconds and a clock id as the atproto spec's examples do", () => {
  // From the spec: 3jzfcijpj2z2a is a valid TID; 0 is "2222222222222".
  assert.equal(tid(0n, 0), "2222222222222");
  const us = 1_700_000_000_000_000n;
  const key = tid(us, 5);
  assert.ok(isValidTid(key), key);
  // Sortable: a later time sorts after.
  assert.ok(tid(us + 1n, 0) > key);
});

Deno.test("replyRkey() gives one valid TID per mention, the same every time, and different ones for mentions of the same millisecond", () => {
  const t = 1_783_175_887_517;
  const a = replyRkey("at://did:plc:aaa/app.bsky.feed.post/3mptbyplj5d2a", t);
  assert.equal(replyRkey("at://did:plc:aaa/app.bsky.feed.post/3mptbyplj5d2a", t), a);
  assert.ok(isValidTid(a), a);
  const keys = new Set<string>();
  for (let i = 0; i < 1000; i++) {
    const k = replyRkey(`at://did:plc:u${i}/app.bsky.feed.post/3mptbyplj5d2a`, t);
    assert.ok(isValidTid(k), k);
    keys.add(k);
  }
  assert.equal(keys.size, 1000);
});
