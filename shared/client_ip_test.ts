import assert from "node:assert/strict";
import { clientIp } from "./client_ip.ts";

Deno.test("clientIp() believes only the X-Forwarded-For entries the trusted proxies appended", () => {
  const peer = "10.0.0.1";
  // No proxy trusted: the header is the client's to write, and ignored.
  assert.equal(clientIp("198.51.100.7", peer, 0), peer);
  // One proxy: the entry it appended, whatever the client put before it.
  assert.equal(clientIp("203.0.113.9", peer, 1), "203.0.113.9");
  assert.equal(clientIp("1.2.3.4, 5.6.7.8, 203.0.113.9", peer, 1), "203.0.113.9");
  // Two proxies: the outer one appended the client; the inner one the outer proxy.
  assert.equal(clientIp("1.2.3.4, 203.0.113.9, 10.0.0.2", peer, 2), "203.0.113.9");
  assert.equal(clientIp("203.0.113.9", peer, 2), "203.0.113.9", "a shorter list: its first");
  assert.equal(clientIp("2001:db8::1", peer, 1), "2001:db8::1");
  assert.equal(clientIp(null, peer, 1), peer);
  assert.equal(clientIp(" , ", peer, 1), peer);
  assert.equal(clientIp("1.2.3.4, not-an-address", peer, 1), peer);
  assert.equal(clientIp(`1.2.3.4, ${"9".repeat(100)}`, peer, 1), peer);
});
