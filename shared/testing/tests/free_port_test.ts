/**
 * freePort() hands out ports below the ephemeral range, where no client's outgoing
 * connection is given them, free to listen on, and never the same one twice.
 */
import assert from "node:assert/strict";
import { FREE_PORTS, freePort } from "../redis_server.ts";

Deno.test("freePort() gives distinct ports below the ephemeral range, each free to listen on", () => {
  const listeners: Deno.Listener[] = [];
  try {
    const ports = Array.from({ length: 300 }, () => freePort());
    assert.equal(new Set(ports).size, ports.length, "none handed out twice");
    for (const port of ports) {
      assert.ok(port >= FREE_PORTS.from && port < FREE_PORTS.to, `${port}`);
      listeners.push(Deno.listen({ hostname: "127.0.0.1", port }));
    }
  } finally {
    for (const l of listeners) l.close();
  }
});
