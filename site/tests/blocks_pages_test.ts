/**
 * The blocks pages in Chromium at a desktop's size (1280×800) and a phone's (390×844), over
 * the real stack (a local PDS and PLC, the real firehose and indexer, the API and the site
 * as their own processes), with the site's Content-Security-Policy on, as pages_test.ts
 * does: axe-core finds no violation, nothing runs wider than the screen, the lists hold
 * exactly the blocks the PDS's accounts made (a block deleted on the PDS is gone), and the
 * circles page links to them. Screenshots land in site/tests/artifacts/.
 */
import assert from "node:assert/strict";
import { runWorkload } from "@bsky/shared/testing/workload";
import { settled } from "@bsky/shared/testing/settled";
import {
  axeViolations,
  type Dom,
  overflows,
  screenshotAt,
  SIZES,
  startChainBrowserStack,
} from "../testing/browser.ts";

Deno.test("the blocks pages pass axe at both sizes, fit the screen and list the PDS's blocks, in Chromium over the real stack", async (t) => {
  await using stack = await startChainBrowserStack();
  const { pds, origin, apiUrl, browser } = stack;
  // The workload: Dave blocks Carol. Then Bob and Alice block her too, and Alice unblocks.
  const { accounts } = await runWorkload(pds.pdsUrl, pds.adminPassword);
  const { alice, bob, carol, dave } = accounts;
  await bob.putProfile({ displayName: "Robert", avatar: true });
  await bob.block(carol.did);
  const undone = await alice.block(carol.did);
  await alice.deleteRecord(undone.uri);
  await settled(async () => {
    const body = await fetch(`${apiUrl}/v1/blocks/${carol.did}`).then((r) => r.json());
    // Newest first (both may fall in one minute: then by the store's ids).
    assert.deepEqual(
      body.items.map((i: { did: string }) => i.did).sort(),
      [
        bob.did,
        dave.did,
      ].sort(),
    );
    assert.ok(body.items[0].since >= body.items[1].since);
    assert.deepEqual(body.counts, { blockedBy: 2, blocking: 0 });
    const robert = await fetch(`${apiUrl}/v1/blocks/${bob.did}?direction=blocking`)
      .then((r) => r.json());
    assert.equal(robert.actor.displayName, "Robert");
  }, 30_000);

  for (const size of SIZES) {
    const { width, height } = size;
    const context = await browser.newContext({ viewport: { width, height }, locale: "en-US" });
    const page = await context.newPage();

    await t.step(`${size.name}: axe finds nothing and nothing overflows`, async () => {
      const pages: [string, string][] = [
        ["blocks_by", `/c/${carol.handle}/blocks`],
        ["blocks_of", `/c/${dave.handle}/blocks?direction=blocking`],
        ["blocks_none", `/c/${alice.handle}/blocks?direction=blocking`],
        ["blocks_pt", `/c/${carol.handle}/blocks?lang=pt`],
      ];
      for (const [name, path] of pages) {
        const res = await page.goto(`${origin}${path}`);
        assert.equal(res!.status(), 200, path);
        assert.match(res!.headers()["content-security-policy"], /script-src 'self'/, path);
        assert.deepEqual(await axeViolations(page), [], `${path} at ${width}×${height}`);
        assert.equal(await overflows(page), false, `${path} fits ${width}px`);
        await screenshotAt(page, name, { width, height });
      }
    });

    await t.step(`${size.name}: from the circles page to the blocks and back`, async () => {
      // In English again: the Portuguese page before set the language's cookie.
      await page.goto(`${origin}/c/${carol.handle}?lang=en`);
      await page.getByRole("link", { name: "Who blocks this account, and whom it blocks" })
        .click();
      await page.waitForURL(`${origin}/c/${carol.handle}/blocks`);
      const rows = page.locator(".block-list li");
      const order = await rows.evaluateAll((li: Dom[]) => li.map((l) => l.dataset.did));
      assert.deepEqual([...order].sort(), [bob.did, dave.did].sort());
      // Bob's row: his name above his handle, when he blocked her, a link to his circles.
      const row = page.locator(`.block-list li[data-did="${bob.did}"]`);
      assert.equal(await row.locator(".name").textContent(), "Robert");
      assert.equal(await row.locator(".handle").textContent(), `@${bob.handle}`);
      const since = (await row.locator("time").getAttribute("datetime"))!;
      assert.ok(Date.now() - Date.parse(since) < 2 * 3_600_000, since);
      assert.equal(await row.locator("a").getAttribute("href"), `/c/${bob.handle}`);
      assert.equal(
        await page.locator('[aria-current="page"]', { hasText: "Blocked by" }).textContent(),
        "Blocked by (2)",
      );
      await page.getByRole("link", { name: "Blocking (0)" }).click();
      await page.waitForURL(/direction=blocking/);
      assert.equal(
        (await page.locator('[data-empty="blocks"]').textContent())!.trim(),
        "This account blocks nobody.",
      );
      await page.getByRole("link", { name: "Back to the circles" }).click();
      await page.waitForURL(`${origin}/c/${carol.handle}`);
    });
    await context.close();
  }
});
