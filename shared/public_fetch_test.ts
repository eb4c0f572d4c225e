import assert from "node:assert/strict";
import { connectRedis } from "./redis.ts";
import { startRedisServer } from "./testing/redis_server.ts";
import {
  checkPublicTarget,
  fetchPublic,
  isPublicAddress,
  type Resolver,
  UnsafeTargetError,
} from "./public_fetch.ts";

/** A resolver of the test's own: no DNS query leaves this machine. */
const resolver = (table: Record<string, string[]>): Resolver => (host) =>
  Promise.resolve(table[host] ?? []);
const PUBLIC_V4 = "93.184.215.14";
const publicNames = resolver({ "pds.example.com": [PUBLIC_V4], "cdn.example.net": [PUBLIC_V4] });

async function refused(url: string, options = {}) {
  await assert.rejects(
    checkPublicTarget(new URL(url), { resolve: publicNames, ...options }),
    UnsafeTargetError,
    url,
  );
}

/** Connections redis-server has accepted so far. */
async function connectionsOf(url: string): Promise<number> {
  const redis = await connectRedis(url, { name: "probe" });
  try {
    return Number(/total_connections_received:(\d+)/.exec(await redis.info("stats"))![1]);
  } finally {
    redis.disconnect();
  }
}

Deno.test("checkPublicTarget() refuses loopback, private, link-local and other non-public addresses", async () => {
  for (
    const url of [
      "https://127.0.0.1/",
      "https://127.1.2.3/",
      "https://2130706433/", // 127.0.0.1 as one number: URL makes it dotted
      "https://0x7f.1/",
      "https://0.0.0.0/",
      "https://10.1.2.3/",
      "https://172.16.0.1/",
      "https://172.31.255.255/",
      "https://192.168.1.1/",
      "https://169.254.169.254/", // cloud metadata
      "https://100.64.0.1/",
      "https://198.18.0.1/",
      "https://224.0.0.1/",
      "https://255.255.255.255/",
      "https://[::1]/",
      "https://[::]/",
      "https://[fe80::1]/",
      "https://[fc00::1]/",
      "https://[fd12:3456::1]/",
      "https://[::ffff:127.0.0.1]/",
      "https://[::ffff:10.0.0.1]/",
      "https://[64:ff9b::a00:1]/",
      "https://[2002:a00:1::]/",
      "https://[ff02::1]/",
      "https://[2001:db8::1]/",
    ]
  ) await refused(url);
  await checkPublicTarget(new URL(`https://${PUBLIC_V4}/`));
  await checkPublicTarget(new URL("https://[2606:4700::6810:84e5]/"));
});

Deno.test("checkPublicTarget() refuses local names, and names that resolve to a non-public address", async () => {
  for (
    const url of [
      "https://localhost/",
      "https://pds.localhost/",
      "https://redis/",
      "https://pds.internal/",
      "https://printer.local/",
      "https://x.onion/",
      "https://pds.test/",
      "https://box.home.arpa/",
    ]
  ) await refused(url);
  const table = resolver({
    "private.example.com": ["10.0.0.5"],
    "mixed.example.com": [PUBLIC_V4, "::1"],
    "rebound.example.com": ["127.0.0.1"],
  });
  for (const host of ["private.example.com", "mixed.example.com", "rebound.example.com"]) {
    await refused(`https://${host}/`, { resolve: table });
  }
  await refused("https://nowhere.example.com/", { resolve: table });
  await checkPublicTarget(new URL("https://pds.example.com/xrpc/x"), { resolve: publicNames });
  // Where this process may not query DNS, a name is judged by its form.
  await checkPublicTarget(new URL("https://pds.example.com/"), {
    resolve: () => Promise.resolve(undefined),
  });
});

Deno.test("checkPublicTarget() refuses plain http, ports other than 443 and credentials", async () => {
  for (
    const url of [
      "http://pds.example.com/",
      "https://pds.example.com:6379/",
      "https://pds.example.com:8443/",
      "https://user:secret@pds.example.com/",
      "ftp://pds.example.com/",
    ]
  ) await refused(url);
  await checkPublicTarget(new URL("https://pds.example.com:443/"), { resolve: publicNames });
});

Deno.test("checkPublicTarget() allows private hosts, http and any port when private networks are allowed", async () => {
  for (const url of ["http://127.0.0.1:6379/", "http://localhost:2583/", "https://[::1]:8443/"]) {
    await checkPublicTarget(new URL(url), { allowPrivate: true });
  }
  await refused("ftp://127.0.0.1/", { allowPrivate: true });
  await refused("http://user:pw@127.0.0.1/", { allowPrivate: true });
});

Deno.test("isPublicAddress() tells public unicast addresses from the rest", () => {
  const cases: [string, boolean][] = [
    ["8.8.8.8", true],
    ["1.1.1.1", true],
    ["172.15.255.255", true],
    ["172.32.0.0", true],
    ["2606:4700:4700::1111", true],
    ["::ffff:8.8.8.8", true],
    ["127.0.0.1", false],
    ["10.255.255.255", false],
    ["169.254.0.1", false],
    ["::1", false],
    ["fe80::abcd", false],
    ["febf::1", false],
    ["fc00::", false],
    ["::ffff:192.168.0.1", false],
    ["2001:db8::", false],
    ["not an address", false],
    ["1.2.3", false],
    ["1.2.3.256", false],
    ["1:2:3:4:5:6:7:8:9", false],
  ];
  for (const [ip, expected] of cases) assert.equal(isPublicAddress(ip), expected, ip);
});

Deno.test("fetchPublic() does not follow a redirect to a private target: the API's own Redis sees no connection", async () => {
  await using redis = await startRedisServer();
  const redisPort = new URL(redis.url).port;
  // A public PDS (a local server under a public name here) that redirects to Redis.
  await using pds = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen: () => {} },
    () =>
      new Response(null, {
        status: 302,
        headers: { location: `http://127.0.0.1:${redisPort}/` },
      }),
  );
  const local = `http://127.0.0.1:${pds.addr.port}`;
  const asked: string[] = [];
  const routed: typeof fetch = (input, init) => {
    const url = String(input);
    asked.push(url);
    return fetch(url.replace("https://pds.example.com", local), init);
  };
  const before = await connectionsOf(redis.url);
  await assert.rejects(
    fetchPublic("https://pds.example.com/xrpc/com.atproto.sync.getBlob", {
      fetch: routed,
      resolve: publicNames,
    }),
    (err: Error) => err instanceof UnsafeTargetError && /127\.0\.0\.1/.test(err.message),
  );
  assert.deepEqual(asked, ["https://pds.example.com/xrpc/com.atproto.sync.getBlob"]);
  assert.equal(await connectionsOf(redis.url), before + 1, "only the probe's own connection");
});

Deno.test("fetchPublic() follows redirects between public targets, up to its limit", async () => {
  let hops = 0;
  await using server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, (req) => {
    const n = Number(new URL(req.url).searchParams.get("n"));
    hops++;
    return n === 0 ? new Response("arrived") : new Response(null, {
      status: 307,
      headers: { location: `https://cdn.example.net/next?n=${n - 1}` },
    });
  });
  const local = `http://127.0.0.1:${server.addr.port}`;
  const routed: typeof fetch = (input, init) =>
    fetch(String(input).replace(/^https:\/\/[^/]+/, local), init);
  const options = { fetch: routed, resolve: publicNames };
  const res = await fetchPublic("https://pds.example.com/start?n=3", options);
  assert.equal(await res.text(), "arrived");
  assert.equal(hops, 4);
  await assert.rejects(
    fetchPublic("https://pds.example.com/start?n=4", options),
    /more than 3 redirects/,
  );
});
