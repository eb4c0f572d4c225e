import assert from "node:assert/strict";
import { Validator } from "@seriousme/openapi-schema-validator";
import type { z } from "zod";
import type { KeyMode } from "./app.ts";
import { openApiDocument } from "./openapi.ts";
import { API_ROUTES } from "./routes.ts";
import { Router } from "./router.ts";
import * as s from "./schemas.ts";

type Parameter = {
  name: string;
  in: string;
  required: boolean;
  schema: Record<string, unknown>;
};
type Operation = {
  operationId: string;
  security?: unknown[];
  parameters?: Parameter[];
  responses: Record<string, { $ref?: string; content?: Record<string, { schema?: unknown }> }>;
};
type Doc = {
  paths: Record<string, Record<string, Operation>>;
  components: Record<string, Record<string, unknown>>;
  security?: unknown[];
};

const doc = (mode: KeyMode = "none") => openApiDocument(mode) as unknown as Doc;
const operations = (d: Doc) =>
  Object.entries(d.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, op]) => ({ path, method, op }))
  );

/** A path of the document with sample values in its templates. */
const concrete = (path: string) =>
  path.replace("{actor}", "alice.test").replace("{did}", "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa")
    .replace("{code}", "ABCDEFGH");

/** The app's router, over the table it serves. */
const router = new Router(API_ROUTES);

/** What the router does with a path and method: the route's operation, or undefined. */
function served(path: string, method: string): string | undefined {
  try {
    return router.find(method.toUpperCase(), path).route.operationId;
  } catch {
    return undefined;
  }
}

/** The routes open to anyone, by path. */
const OPEN_ROUTES = Object.fromEntries(
  API_ROUTES.filter((r) => r.open).map((r) => [r.path, r.operationId]),
);

/** The routes the app serves: path, operation and method. */
const ROUTES = API_ROUTES.map((r) => [r.path, r.operationId, r.method] as const);

Deno.test("openApiDocument() passes an OpenAPI 3.1 validator, and its security follows how keys are configured", async () => {
  const security: Record<KeyMode, unknown> = {
    none: undefined,
    optional: [{ bearer: [] }, {}],
    required: [{ bearer: [] }],
  };
  for (const mode of ["none", "optional", "required"] as const) {
    const d = doc(mode);
    const result = await new Validator().validate(structuredClone(d) as never);
    assert.deepEqual(result, { valid: true }, `${mode}: ${JSON.stringify(result.errors)}`);
    assert.deepEqual(d.security, security[mode], mode);
    for (const { path, op } of operations(d)) {
      if (OPEN_ROUTES[path as keyof typeof OPEN_ROUTES]) {
        assert.deepEqual(op.security, [], `${path} needs no key`);
      } else assert.equal(op.security, undefined, `${path} follows the document's security`);
    }
  }
});

Deno.test("openApiDocument() lists exactly the routes the app serves, each with its method", () => {
  const d = doc();
  const described = new Set<string>();
  for (const { path, method } of operations(d)) {
    const name = served(concrete(path), method);
    assert.ok(name, `${method.toUpperCase()} ${path} is described but not served`);
    described.add(`${method} ${name}`);
  }
  for (const [, name, method] of ROUTES) {
    assert.ok(described.has(`${method.toLowerCase()} ${name}`), `${method} ${name} is served`);
  }
  for (const path of Object.keys(OPEN_ROUTES)) {
    assert.ok(d.paths[path]?.get, `GET ${path} is served`);
  }
  assert.ok(d.paths["/v1/stats/jobs"].get);
});

/** The zod schema each route parses its query with (fart/routes.ts). */
const QUERIES: Record<string, z.ZodObject> = {
  "/v1/interactions/{actor}": s.interactionsQuery,
  "/v1/circles/{actor}": s.circlesQuery,
  "/v1/circles/{actor}/changes": s.changesQuery,
  "/v1/circles/{actor}.svg": s.circlesQuery,
  "/v1/circles/{actor}.png": s.circlesQuery,
  "/v1/blocks/{actor}": s.blocksQuery,
  "/v1/stats/top": s.topQuery,
  "/v1/actors/search": s.searchQuery,
  "/v1/optout/{actor}": s.optoutQuery,
};

Deno.test("every query parameter in openApiDocument() has the schema's requiredness, default, minimum and maximum", () => {
  const d = doc();
  for (const { path, op } of operations(d)) {
    const query = (op.parameters ?? []).filter((p) => p.in === "query");
    const schema = QUERIES[path];
    assert.deepEqual(
      query.map((p) => p.name),
      Object.keys(schema?.shape ?? {}),
      `${path}: the parameters the route parses`,
    );
    for (const p of query) {
      const field = schema.shape[p.name] as z.ZodType;
      const where = `${path} ${p.name}`;
      const absent = field.safeParse(undefined);
      assert.equal(p.required, !absent.success, `${where}: required`);
      const { default: fallback, minimum, maximum, type } = p.schema;
      if (!p.required) {
        assert.ok("default" in p.schema, `${where}: has a default`);
        // The default, written as a client would, means what leaving it out means.
        assert.deepEqual(field.parse(String(fallback)), absent.data, `${where}: default`);
      }
      if (type === "integer") assert.ok(!field.safeParse("1.5").success, where);
      if (typeof minimum === "number") {
        assert.ok(field.safeParse(String(minimum)).success, `${where}: minimum`);
        assert.ok(!field.safeParse(String(minimum - 1)).success, `${where}: below minimum`);
      }
      if (typeof maximum === "number") {
        assert.ok(field.safeParse(String(maximum)).success, `${where}: maximum`);
        assert.ok(!field.safeParse(String(maximum + 1)).success, `${where}: above maximum`);
      }
      for (const value of (p.schema.enum ?? []) as string[]) {
        assert.ok(field.safeParse(value).success, `${where}: ${value}`);
      }
    }
  }
  const described = (path: string, name: string) => {
    const p = d.paths[path][path.startsWith("/v1/optout") ? "post" : "get"].parameters!
      .find((p) => p.name === name)!;
    const { default: fallback, minimum, maximum } = p.schema;
    return [p.required, fallback, minimum, maximum];
  };
  const expected: [string, string, unknown[]][] = [
    ["/v1/interactions/{actor}", "window", [false, "7d", undefined, undefined]],
    ["/v1/interactions/{actor}", "limit", [false, 30, 1, 100]],
    ["/v1/circles/{actor}", "window", [false, "30d", undefined, undefined]],
    ["/v1/circles/{actor}.png", "rings", [false, 3, 1, 3]],
    ["/v1/circles/{actor}.svg", "bg", [false, "0f172a", undefined, undefined]],
    ["/v1/circles/{actor}.svg", "border", [false, "38bdf8", undefined, undefined]],
    ["/v1/circles/{actor}.svg", "date", [false, "true", undefined, undefined]],
    ["/v1/circles/{actor}.png", "width", [false, "600", undefined, undefined]],
    ["/v1/stats/top", "metric", [true, undefined, undefined, undefined]],
    ["/v1/stats/top", "window", [false, "24h", undefined, undefined]],
    ["/v1/actors/search", "q", [true, undefined, undefined, undefined]],
    ["/v1/actors/search", "limit", [false, 10, 1, 25]],
    ["/v1/optout/{actor}", "action", [false, "out", undefined, undefined]],
  ];
  for (const [path, name, want] of expected) {
    assert.deepEqual(described(path, name), want, `${path} ${name}`);
  }
});

Deno.test("every error response in openApiDocument() refers to the Error schema, and every operation has its own operationId", () => {
  const d = doc("required");
  const responses = d.components.responses as Record<
    string,
    { content: Record<string, { schema: unknown }> }
  >;
  const errorSchema = { $ref: "#/components/schemas/Error" };
  assert.deepEqual(
    (d.components.schemas.Error as { required: string[] }).required,
    ["error", "message"],
  );
  const ids = new Set<string>();
  for (const { path, method, op } of operations(d)) {
    assert.match(op.operationId ?? "", /^[a-z][A-Za-z]+$/, `${method} ${path}`);
    assert.ok(!ids.has(op.operationId), `${op.operationId} is used once`);
    ids.add(op.operationId);
    assert.ok(op.responses["500"], `${method} ${path} may fail`);
    for (const [status, response] of Object.entries(op.responses)) {
      if (Number(status) < 400) continue;
      const where = `${method} ${path} ${status}`;
      if (path === "/healthz" && status === "503") {
        // Not an error answer: the health answer itself, saying it is not ready.
        assert.deepEqual(response.content?.["application/json"].schema, {
          $ref: "#/components/schemas/Health",
        });
        continue;
      }
      const named = response.$ref?.match(/^#\/components\/responses\/(\w+)$/)?.[1];
      assert.ok(named && responses[named], `${where} refers to a shared error response`);
      assert.deepEqual(responses[named].content["application/json"].schema, errorSchema, where);
    }
  }
});
