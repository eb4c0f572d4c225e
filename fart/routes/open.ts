/** The routes open to anyone (no key, no rate limit): health and the API's description. */
import { withEtag } from "../http.ts";
import { route, type RouteCtx } from "../route.ts";
import * as s from "../schemas.ts";

/** How long clients may keep /openapi.json and /docs. */
const DOCUMENT_SECONDS = 3600;

const HEALTH = { name: "Health", schema: s.healthAnswer };

export const healthz = route({
  name: "healthz",
  method: "GET",
  path: "/healthz",
  operationId: "getHealth",
  summary: "Whether the API can answer (503 with the same answer when it cannot)",
  answer: HEALTH,
  alsoAnswers: { 503: { description: "Not ready: Redis does not answer", answer: HEALTH } },
  errors: [],
  open: true,
  async handler({ services: { gate, redis } }) {
    const ok = await gate.answers();
    return Response.json({ ok, redis: redis.status }, { status: ok ? 200 : 503 });
  },
});

export const openapi = route({
  name: "openapi",
  method: "GET",
  path: "/openapi.json",
  operationId: "getOpenApi",
  summary: "This description",
  answer: { type: "application/json" },
  errors: [],
  open: true,
  etag: true,
  async handler({ req, services }) {
    return await withEtag(req, services.documents.openapi(), "application/json", DOCUMENT_SECONDS);
  },
});

const docsPage = ({ req, services }: RouteCtx) =>
  withEtag(req, services.documents.docs(), "text/html; charset=utf-8", DOCUMENT_SECONDS);

export const docs = route({
  name: "docs",
  method: "GET",
  path: "/docs",
  operationId: "getDocs",
  summary: "A page listing the endpoints, for people",
  answer: { type: "text/html" },
  errors: [],
  open: true,
  etag: true,
  handler: docsPage,
});

export const index = route({
  name: "docs",
  method: "GET",
  path: "/",
  operationId: "getIndex",
  summary: "The same page as /docs",
  answer: { type: "text/html" },
  errors: [],
  open: true,
  etag: true,
  handler: docsPage,
});
