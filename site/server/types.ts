/** The route module API, shaped like Fresh's: a `handler` and a default page component. */
import type { ComponentType, JSX } from "preact";
import type { Api } from "../api.ts";
import type { SiteConfig } from "../config.ts";
import type { Dict, Lang } from "../i18n.ts";

/** What middleware and handlers share for one request. */
export interface State {
  lang: Lang;
  t: Dict;
}

export interface RouteContext<Data = unknown> {
  url: URL;
  params: Record<string, string>;
  state: State;
  /** The API, each call charged to the request's visitor. */
  api: Api;
  config: SiteConfig;
  /** The route's page with this data, inside _app; `init` sets status and headers. */
  render(data?: Data, init?: ResponseInit): Response;
  /** The next step (the route itself), for middleware. */
  next(): Promise<Response>;
}

export type Handler<Data = unknown> = (
  req: Request,
  ctx: RouteContext<Data>,
) => Response | Promise<Response>;

export type Handlers<Data = unknown> = Partial<Record<"GET" | "HEAD" | "POST", Handler<Data>>>;

export interface PageProps<Data = unknown> {
  data: Data;
  url: URL;
  params: Record<string, string>;
  state: State;
}

export interface AppProps {
  Component: () => JSX.Element;
  url: URL;
  state: State;
}

export interface RouteModule {
  handler?: Handler | Handlers;
  default?: ComponentType<PageProps<unknown>>;
  /**
   * The query parameters the route reads, besides `lang`. A route that lists them answers
   * any other with a 400 page.
   */
  query?: readonly string[];
}
