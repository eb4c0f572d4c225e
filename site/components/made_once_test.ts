import assert from "node:assert/strict";
import { madeOnce } from "./made_once.ts";
import { withStack } from "../testing/stack.ts";

Deno.test("a part is made once an answer and key, again for a new answer or another key", () => {
  let made = 0;
  const make = (text: string) => () => `${text} ${++made}`;
  const circles = { rings: [] }, interactions = { items: [] };
  assert.equal(madeOnce([circles], "figure en", make("a")), "a 1");
  assert.equal(madeOnce([circles], "figure en", make("a")), "a 1", "kept");
  assert.equal(madeOnce([circles], "figure pt", make("b")), "b 2", "another key");
  // An answer the site has fetched again is another object, however alike.
  assert.equal(madeOnce([{ rings: [] }], "figure en", make("c")), "c 3");
  assert.equal(madeOnce([circles, interactions], "people en", make("d")), "d 4");
  assert.equal(madeOnce([circles, interactions], "people en", make("d")), "d 4");
  assert.equal(madeOnce([circles, { items: [] }], "people en", make("e")), "e 5");
  assert.equal(madeOnce([interactions, circles], "people en", make("f")), "f 6", "in order");
});

Deno.test("a part too large for the bound is made each time rather than kept", () => {
  let made = 0;
  const answer = {};
  const huge = () => `${++made}${"x".repeat(5 << 20)}`;
  madeOnce([answer], "huge", huge);
  madeOnce([answer], "huge", huge);
  assert.equal(made, 2);
});

Deno.test("the circles page made from kept parts is the page made afresh, for each language and colour", async () => {
  await withStack(async ({ get }) => {
    const page = async (path: string) => {
      const res = await get(path);
      assert.equal(res.status, 200, path);
      return await res.text();
    };
    const first = await page("/c/alice.test");
    assert.equal(await page("/c/alice.test"), first, "the same page again");
    const pt = await page("/c/alice.test?lang=pt");
    assert.match(pt, /<caption id="people-caption">Pessoas<\/caption>/);
    assert.match(await page("/c/alice.test"), /<caption id="people-caption">People<\/caption>/);
    const day = await page("/c/alice.test?bg=ffffff&border=0550ae");
    assert.match(day, /<rect width="600" height="600" fill="#ffffff"/);
    const night = await page("/c/alice.test");
    assert.match(night, /<rect width="600" height="600" fill="#0f172a"/);
    assert.equal(night, first);
    const undated = await page("/c/alice.test?date=false");
    const printed = /\d{4}-\d{2}-\d{2}<\/text>/;
    assert.match(first, printed);
    assert.doesNotMatch(undated, printed, "the dates only when asked");
  });
});
