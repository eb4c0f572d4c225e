/**
 * Server rendering: pages to HTML with preact-render-to-string, <Head> contents collected
 * during the render, and islands marked where they appear so that the browser can hydrate
 * them with the same props.
 */
import { type ComponentChildren, type ComponentType, h, options, type VNode } from "preact";
import { renderToString } from "preact-render-to-string";
import { BoundedMap, stringBytes } from "@bsky/shared/bounded_map";

// deno-lint-ignore no-explicit-any
type AnyNode = VNode<any>;

interface Collector {
  head: AnyNode[];
  islands: Set<string>;
}

/** Island components by identity, registered when the islands folder is loaded. */
const islandNames = new Map<ComponentType<never>, string>();
let current: Collector | undefined;
let creatingIsland = false;

export function registerIsland(name: string, component: ComponentType<never>): void {
  islandNames.set(component, name);
}

interface MarkerProps {
  name: string;
  island: ComponentType<Record<string, unknown>>;
  props: Record<string, unknown>;
}

/**
 * Islands' markup by their name and props as JSON: the browser makes an island again from
 * those props alone, so the server's markup is the same for the same JSON. Bounded in entries
 * and bytes, so that many props (handles, options) cannot grow memory.
 */
const islandMarkup = new BoundedMap<string, string>({
  maxEntries: 512,
  maxBytes: 4 << 20,
  sizeOf: (key, html) => stringBytes(key) + stringBytes(html),
});

/** Wraps an island: its markup, plus its name and props for hydration. */
function IslandMarker({ name, island, props }: MarkerProps): AnyNode {
  current?.islands.add(name);
  if ("children" in props) throw new TypeError(`Island ${name} cannot take children`);
  const json = JSON.stringify(props);
  const key = `${name} ${json}`;
  let html = islandMarkup.get(key);
  if (html === undefined) {
    creatingIsland = true;
    const inner = h(island, props);
    creatingIsland = false;
    const outer = current;
    const own: Collector = { head: [], islands: new Set() };
    current = own;
    try {
      html = renderToString(inner);
    } finally {
      current = outer;
    }
    if (own.head.length > 0 || own.islands.size > 0) {
      // What puts something in the head or holds islands of its own is made every time.
      outer?.head.push(...own.head);
      for (const nested of own.islands) outer?.islands.add(nested);
    } else {
      islandMarkup.set(key, html);
    }
  }
  return h("div", {
    class: "island",
    "data-island": name,
    "data-props": json,
    dangerouslySetInnerHTML: { __html: html },
  });
}

const previousVnode = options.vnode;
options.vnode = (vnode) => {
  const type = vnode.type as ComponentType<never>;
  if (!creatingIsland && typeof type === "function" && islandNames.has(type)) {
    const props = vnode.props as Record<string, unknown>;
    vnode.type = IslandMarker as unknown as typeof vnode.type;
    vnode.props = {
      name: islandNames.get(type)!,
      island: type,
      props,
    } as unknown as typeof vnode.props;
  }
  previousVnode?.(vnode);
};

/** Puts its children in the document's <head> (title, meta). */
export function Head({ children }: { children?: ComponentChildren }): null {
  if (current && children) {
    current.head.push(...(Array.isArray(children) ? children : [children]) as AnyNode[]);
  }
  return null;
}

export interface Rendered {
  head: string;
  body: string;
  islands: Set<string>;
}

/** Renders a tree; rendering is synchronous, so one collector at a time is enough. */
export function renderCollecting(tree: AnyNode): Rendered {
  const collector: Collector = { head: [], islands: new Set() };
  const outer = current;
  current = collector;
  try {
    const body = renderToString(tree);
    const head = collector.head.map((node) => renderToString(node)).join("");
    return { head, body, islands: collector.islands };
  } finally {
    current = outer;
  }
}
