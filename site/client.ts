/**
 * Hydrates the islands of a page: each `[data-island]` element gets its component, loaded
 * from the URL the page's manifest gives, with the props the server rendered it with.
 */
import { h, hydrate } from "preact";

const manifest: Record<string, string> = JSON.parse(
  document.getElementById("islands")?.textContent ?? "{}",
);
for (const el of document.querySelectorAll<HTMLElement>("[data-island]")) {
  const url = manifest[el.dataset.island!];
  if (!url) continue;
  import(url).then((mod) => {
    hydrate(h(mod.default, JSON.parse(el.dataset.props ?? "{}")), el);
    el.dataset.hydrated = "";
  });
}
