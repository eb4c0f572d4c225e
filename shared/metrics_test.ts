import assert from "node:assert/strict";
import { Registry } from "./metrics.ts";

Deno.test("Registry renders counters, gauges and histograms in the Prometheus text format", async () => {
  const r = new Registry();
  const c = r.counter("x_total", "Things", ["reason"]);
  c.inc({ reason: 'a"b' });
  c.inc({ reason: 'a"b' }, 2);
  r.gauge("depth", "Depth", ["p"], (g) => g.set({ p: "0" }, 7));
  const h = r.histogram("lat_seconds", "Latency", [0.1, 1]);
  h.observe(0.05);
  h.observe(0.5);
  h.observe(5);
  const text = await r.render();
  assert.match(text, /# TYPE x_total counter\nx_total\{reason="a\\"b"\} 3\n/);
  assert.match(text, /depth\{p="0"\} 7\n/);
  assert.match(text, /lat_seconds_bucket\{le="0.1"\} 1\nlat_seconds_bucket\{le="1"\} 2\n/);
  assert.match(
    text,
    /lat_seconds_bucket\{le="\+Inf"\} 3\nlat_seconds_sum 5.55\nlat_seconds_count 3\n/,
  );
  assert.throws(() => r.counter("x_total", "again"), /already registered/);
});
