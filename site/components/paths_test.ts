import assert from "node:assert/strict";
import { circlesPath } from "./paths.ts";

Deno.test("circlesPath() writes a DID as it reads, and encodes everything else a path segment cannot hold", () => {
  assert.equal(circlesPath("alice.bsky.social"), "/c/alice.bsky.social");
  assert.equal(
    circlesPath("did:plc:ewvi7nxzyoun6zhxrhs64oiz"),
    "/c/did:plc:ewvi7nxzyoun6zhxrhs64oiz",
  );
  // A did:web's own percent-encoded port stays encoded, so it decodes back to itself.
  const web = "did:web:localhost%3A2584";
  assert.equal(circlesPath(web), "/c/did:web:localhost%253A2584");
  assert.equal(decodeURIComponent(circlesPath(web).slice(3)), web);
  assert.equal(circlesPath("a/b?c#d"), "/c/a%2Fb%3Fc%23d");
});
