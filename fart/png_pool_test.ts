import assert from "node:assert/strict";
import { PngPool, PngPoolFull } from "./png_pool.ts";

const SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10" fill="#f00"/></svg>';

Deno.test("PngPool draws on its threads and refuses a render past threads and queue before building its SVG", async () => {
  const pool = new PngPool({ workers: 1, queue: 1 });
  try {
    let release!: () => void;
    const gate = new Promise<void>((r) => release = r);
    const slowSvg = async () => {
      await gate;
      return SVG;
    };
    const a = pool.render(slowSvg, 40);
    const b = pool.render(slowSvg, 20);
    assert.equal(pool.load.admitted, 2);
    let built = false;
    await assert.rejects(
      pool.render(() => {
        built = true;
        return SVG;
      }, 20),
      (err) => err instanceof PngPoolFull && err.retryAfterSeconds >= 1,
    );
    assert.equal(built, false, "refused before any work was done for it");
    assert.equal(pool.refused, 1);
    release();
    const [pa, pb] = await Promise.all([a, b]);
    for (const png of [pa, pb]) assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47]);
    assert.ok(pa.byteLength > 0 && pb.byteLength > 0);
    assert.deepEqual(pool.load, { admitted: 0, drawing: 0, threads: 1 });
    // A place is free again, and a renderer's error reaches the caller.
    await assert.rejects(pool.render(() => SVG, 0), /Invalid PNG width/);
    assert.equal(pool.load.admitted, 0);
  } finally {
    pool.close();
  }
});
