/**
 * Opting out: POST /v1/optout/{actor} hands out a one-time code that hides the account
 * (action=out) or shows it again (in) once the account posts it; anyone may ask, only the
 * account can post it. GET /v1/optout/codes/{code} says whether it was posted yet.
 */
import { newOptCode, type OptAction, optPhrase } from "@bsky/shared/optout";
import { storeKeys } from "@bsky/store/layout";
import { type Profile, profiles } from "@bsky/store/queries";
import type { z } from "zod";
import { HttpError } from "../http.ts";
import { rateHeaders } from "../rate_limit.ts";
import { type Route, route, type Services } from "../route.ts";
import * as s from "../schemas.ts";

/** How long an opt code waits to be posted. */
export const OPT_CODE_SECONDS = 3600;

const OPT_CODE: { name: string; schema: z.ZodType } = { name: "OptCode", schema: s.optoutAnswer };

/** A route of `method` and `path` whose answer is an opt code and its state. */
function optCodeRoute<S extends z.ZodObject>(
  method: Route["method"],
  path: string,
  r: Omit<Route<S>, "method" | "path" | "answer">,
): Route {
  return route<S>({ ...r, method, path, answer: OPT_CODE });
}

function optAnswer(
  status: number,
  profile: Profile,
  action: OptAction,
  code: string,
  state: "waiting" | "done",
  expiresAt: number,
): Response {
  const answer: z.infer<typeof s.optoutAnswer> = {
    did: profile.did,
    handle: profile.handle ?? null,
    action,
    code,
    text: optPhrase(action, code),
    state,
    expiresAt: new Date(expiresAt).toISOString(),
  };
  return Response.json(answer, { status, headers: { "cache-control": "no-store" } });
}

/** Takes one opt code from an hourly allowance, or answers 429. */
async function allowCode(
  { limiter }: Services,
  client: string,
  perHour: number,
  who: "account" | "address",
) {
  const decision = await limiter.take(client, perHour, 3600_000);
  if (decision.allowed) return;
  throw new HttpError(
    429,
    `Too many opt codes for this ${who}: ${perHour} an hour are given, try again in ${decision.retryAfterSeconds} s`,
    {},
    rateHeaders(decision),
  );
}

/** A new code for the account and action, waiting in Redis; a clash is drawn again. */
async function storeCode({ redis }: Services, did: string, action: OptAction): Promise<string> {
  let code = newOptCode();
  // Codes are random (32^8); a clash with a waiting one is redrawn.
  while (
    await redis.set(storeKeys.optCode(code), `${did} ${action}`, "EX", OPT_CODE_SECONDS, "NX") !==
      "OK"
  ) code = newOptCode();
  return code;
}

export const optout = optCodeRoute("POST", "/v1/optout/{actor}", {
  name: "optout",
  operationId: "requestOptCode",
  summary:
    "A one-time code that hides the account from every answer (action=out), or shows it again (in), once the account posts it; codes last an hour",
  query: s.optoutQuery,
  errors: [400, 404, 502],
  async handler({ ip, params, query, services }) {
    const { config, identity, redis, clock } = services;
    await allowCode(services, `optcode:ip:${ip}`, config.FART_OPTOUT_CODES_PER_IP, "address");
    const actor = await identity.actor(params.actor, { hidden: true });
    await allowCode(
      services,
      `optcode:did:${actor.did}`,
      config.FART_OPTOUT_CODES_PER_ACCOUNT,
      "account",
    );
    const code = await storeCode(services, actor.did, query.action);
    const [p] = await profiles(redis, [actor.did]);
    const expires = clock.now() + OPT_CODE_SECONDS * 1000;
    const res = optAnswer(201, p, query.action, code, "waiting", expires);
    // The code just made, where its state can be followed.
    res.headers.set("location", `/v1/optout/codes/${code}`);
    return res;
  },
});

export const optcode = optCodeRoute("GET", "/v1/optout/codes/{code}", {
  name: "optcode",
  operationId: "getOptCode",
  summary: "Whether an opt code was posted yet",
  errors: [400, 404],
  async handler({ params: { code }, services: { redis, clock } }) {
    const key = storeKeys.optCode(code);
    const [[, value], [, ttl]] = (await redis.multi().get(key).pttl(key).exec())! as [
      [unknown, string | null],
      [unknown, number],
    ];
    if (!value) throw new HttpError(404, `The code ${code} is unknown or has expired`);
    const parts = value.split(" ");
    const done = parts[0] === "done";
    const [did, action] = done ? parts.slice(1) : parts;
    const [p] = await profiles(redis, [did]);
    const expires = clock.now() + Math.max(ttl, 0);
    return optAnswer(200, p, action as OptAction, code, done ? "done" : "waiting", expires);
  },
});
