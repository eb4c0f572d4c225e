import assert from "node:assert/strict";
import { h } from "preact";
import { Head, registerIsland, renderCollecting } from "./render.ts";

let made = 0;
function Counter({ label, n }: { label: string; n: number }) {
  made++;
  return h("button", { type: "button", title: `"${label}" & <${n}>` }, `${label}: ${n}`);
}
registerIsland("Counter", Counter as never);

function Titled({ title }: { title: string }) {
  return h("p", null, title, h(Head, null, h("title", null, title)));
}
registerIsland("Titled", Titled as never);

const page = (label: string, n: number) =>
  h("main", null, h("h1", null, "Page"), h(Counter, { label, n }), h("p", null, "after"));

Deno.test("an island's markup is made once for the same props and is the markup made inline, with its props escaped for the attribute", () => {
  made = 0;
  const expected = '<main><h1>Page</h1><div class="island" data-island="Counter" ' +
    'data-props="{&quot;label&quot;:&quot;a &amp; &lt;b>&quot;,&quot;n&quot;:1}">' +
    '<button type="button" title="&quot;a &amp; &lt;b>&quot; &amp; &lt;1>">a &amp; &lt;b>: 1' +
    "</button></div><p>after</p></main>";
  const first = renderCollecting(page("a & <b>", 1));
  assert.equal(first.body, expected);
  assert.deepEqual([...first.islands], ["Counter"]);
  const second = renderCollecting(page("a & <b>", 1));
  assert.equal(second.body, expected);
  // Made from memory, the page still lists the island, so that its script is sent.
  assert.deepEqual([...second.islands], ["Counter"]);
  assert.equal(made, 1);

  const other = renderCollecting(page("a & <b>", 2));
  assert.equal(made, 2);
  assert.match(
    other.body,
    /data-props="\{&quot;label&quot;:&quot;a &amp; &lt;b>&quot;,&quot;n&quot;:2\}"/,
  );
  assert.match(other.body, /a &amp; &lt;b>: 2<\/button>/);
});

Deno.test("an island that puts something in the head is made every time, its head kept", () => {
  for (const title of ["One", "One", "Two"]) {
    const rendered = renderCollecting(h("main", null, h(Titled, { title })));
    assert.equal(rendered.head, `<title>${title}</title>`);
    assert.equal(
      rendered.body,
      `<main><div class="island" data-island="Titled" data-props="{&quot;title&quot;:&quot;${title}&quot;}"><p>${title}</p></div></main>`,
    );
    assert.deepEqual([...rendered.islands], ["Titled"]);
  }
});
