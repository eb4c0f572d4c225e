/**
 * The API, declared once: each route's method, path, query schema, answer schema and
 * handler (fart/routes/, one file per resource). The router dispatches and validates by
 * this table, and /openapi.json and /docs are written from it, in this order.
 */
import type { Route } from "./route.ts";
import { search } from "./routes/actors.ts";
import { avatar } from "./routes/avatar.ts";
import { blocks } from "./routes/blocks.ts";
import { circlesJson, circlesPng, circlesSvg } from "./routes/circles.ts";
import { changes } from "./routes/changes.ts";
import { interactions } from "./routes/interactions.ts";
import { meta } from "./routes/meta.ts";
import { docs, healthz, index, openapi } from "./routes/open.ts";
import { optcode, optout } from "./routes/optout.ts";
import { jobs, live, top } from "./routes/stats.ts";

export const API_ROUTES: readonly Route[] = [
  interactions,
  circlesJson,
  changes,
  circlesSvg,
  circlesPng,
  blocks,
  top,
  jobs,
  live,
  meta,
  search,
  avatar,
  optout,
  optcode,
  healthz,
  openapi,
  docs,
  index,
];
