/**
 * Server rendering: pages to HTML with preact-render-to-string, <Head> contents collected
 * during the render, and islands marked where they appear so that the browser can hydrate
 * them with the same props.
 */
import { type ComponentChildren, type ComponentType, h, options, type VNode } from "preact";
import { renderToString } from "preact-render-to-string";

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

/** Wraps an island: its markup, plus its name and props for hydration. */
function IslandMarker({ name, island, props }: MarkerProps): AnyNode {
  current?.islands.add(name);
  if ("children" in props) throw new TypeError(`Island ${name} cannot take children`);
  creatingIsland = true;
  const inner = h(island, props);
  creatingIsland = false;
  return h(
    "div",
    { class: "island", "data-island": name, "data-props": JSON.stringify(props) },
    inner,
  );
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
