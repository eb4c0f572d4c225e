/** compose.yaml cannot run here (no Docker engine), so keep it honest by reading it. */
import assert from "node:assert/strict";
import { serviceArgs, SERVICES } from "./services.ts";

const text = await Deno.readTextFile(new URL("../compose.yaml", import.meta.url));

/** The `command:` list of a service, read from the YAML by indentation. */
function commandOf(service: string): string[] {
  const lines = text.split("\n");
  const start = lines.findIndex((l) => l === `  ${service}:`);
  assert.ok(start >= 0, `compose.yaml has a ${service} service`);
  const cmd = lines.findIndex((l, i) => i > start && l === "    command:");
  const out: string[] = [];
  for (let i = cmd + 1; i < lines.length && lines[i].startsWith("      - "); i++) {
    out.push(lines[i].slice("      - ".length));
  }
  return out;
}

for (const spec of SERVICES) {
  Deno.test(`compose.yaml starts ${spec.name} with the same permissions as deno task start`, () => {
    const env = {
      REDIS_URL: "redis://redis:6379",
      FIREHOSE_METRICS_PORT: "8001",
      INDEXER_METRICS_PORT: "8002",
      FART_PORT: "8000",
      FART_URL: "http://fart:8000",
      SITE_PORT: "8080",
    };
    assert.deepEqual(commandOf(spec.name), serviceArgs(spec, env));
  });
}

/** The URL a service's compose healthcheck fetches. */
function healthOf(service: string): string {
  const lines = text.split("\n");
  const start = lines.findIndex((l) => l === `  ${service}:`);
  const line = lines.slice(start + 1).find((l) => l.includes("await fetch("));
  assert.ok(line, `compose.yaml has a healthcheck for ${service}`);
  return line.match(/fetch\('([^']+)'\)/)![1];
}

Deno.test("compose.yaml's healthchecks ask each service where the tests wait for it", () => {
  const env = {
    FIREHOSE_METRICS_PORT: "8001",
    INDEXER_METRICS_PORT: "8002",
    SCHEDULER_METRICS_PORT: "8003",
    FART_PORT: "8000",
    SITE_PORT: "8080",
  };
  for (const spec of SERVICES) assert.equal(healthOf(spec.name), spec.health(env), spec.name);
});

Deno.test("compose.yaml runs Redis with AOF persistence on a volume", () => {
  assert.match(text, /redis-server", "--appendonly", "yes"/);
  assert.match(text, /- redis-data:\/data/);
});
