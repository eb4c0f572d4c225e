/**
 * The tasker's memory in Redis: one record per mention, made once, before anything is
 * posted, by one script that also applies the requester's cooldown and the global rate
 * limit. Whatever happens after (a crash, a redelivery, a second tasker), a mention's plan
 * is decided once and read back; with the reply's record key kept in it, the reply can be
 * found or made, but never made twice.
 *
 * Keys share the hash tag {tasker}, so the script's keys sit in one slot on Redis Cluster:
 * - `tk:{tasker}:m:<mention URI>` hash: the plan (`plan`, `rkey`, `notBefore`, `minutes`),
 *   `state` (planned, done), `outcome` and `reply` once done; kept MENTION_TTL_MS, far
 *   longer than a mention may be old to be answered.
 * - `tk:{tasker}:cool:<DID>`: when the requester's cooldown ends (ms);
 *   `tk:{tasker}:notice:<DID>`: the end of the cooldown whose one "try again later" was
 *   given. Times come from the caller's clock; expiry only frees memory after them.
 * - `tk:{tasker}:rate`: the rate limit's theoretical arrival time (GCRA), in ms.
 * - `tk:{tasker}:lease:<partition>`: which tasker reads which partition (consumer.ts).
 */
import type { Redis } from "@bsky/shared/redis";

export const taskerKeys = {
  mention: (uri: string) => `tk:{tasker}:m:${uri}`,
  cooldown: (did: string) => `tk:{tasker}:cool:${did}`,
  notice: (did: string) => `tk:{tasker}:notice:${did}`,
  rate: "tk:{tasker}:rate",
  lease: (partition: number) => `tk:{tasker}:lease:${partition}`,
};

/** How long a mention's record is kept. */
export const MENTION_TTL_MS = 2 * 86_400_000;

/** What was decided for a mention: a reply of some kind, or none. */
export type PlanKind = "circles" | "top" | "help" | "cooldown" | "silent" | "rate_limited";

export interface Plan {
  kind: PlanKind;
  /** The reply's record key. */
  rkey: string;
  /** When it was planned (ms), and not to post before (the rate limit's slot). */
  plannedAt: number;
  notBefore: number;
  /** For a cooldown notice: the minutes left of the cooldown. */
  minutes: number;
  state: "planned" | "done";
  outcome?: string;
  /** The reply's URI, once posted. */
  reply?: string;
}

export interface PlanRequest {
  uri: string;
  requester: string;
  kind: "circles" | "top" | "help";
  rkey: string;
  now: number;
  cooldownMs: number;
  /** Posts an hour; a burst of a tenth of them (at least one) may go at once. */
  perHour: number;
  /** The longest wait for a rate-limit slot: past it, no reply. */
  maxWaitMs: number;
}

const PLAN_SCRIPT = `
local existing = redis.call('HGETALL', KEYS[1])
if #existing > 0 then return existing end
local now = tonumber(ARGV[1])
local kind = ARGV[2]
local cooldown = tonumber(ARGV[4])
local minutes = 0
local startCooldown = false
-- The cooldown holds when it ends (ms); its notice holds the end of the cooldown it answered.
local coolEnd = tonumber(redis.call('GET', KEYS[2]) or '0')
if cooldown > 0 then
  if coolEnd > now then
    if tonumber(redis.call('GET', KEYS[3]) or '0') == coolEnd then
      kind = 'silent'
    else
      kind = 'cooldown'
      minutes = math.ceil((coolEnd - now) / 60000)
    end
  else
    startCooldown = true
  end
end
local notBefore = now
if kind ~= 'silent' then
  -- GCRA: a post may go once now reaches the arrival time minus the burst's allowance.
  local interval = tonumber(ARGV[6])
  local allowance = interval * (tonumber(ARGV[7]) - 1)
  local tat = tonumber(redis.call('GET', KEYS[4]) or '0')
  if tat < now then tat = now end
  local at = tat - allowance
  if at > now + tonumber(ARGV[8]) then
    kind = 'rate_limited'
  else
    if at > now then notBefore = at end
    local nextTat = tat + interval
    redis.call('SET', KEYS[4], string.format('%d', nextTat), 'PX', string.format('%d', nextTat - now + allowance + 1000))
  end
end
if kind ~= 'silent' and kind ~= 'rate_limited' then
  -- Expiry only frees memory (a minute after the end); the values decide.
  if startCooldown then
    redis.call('SET', KEYS[2], string.format('%d', now + cooldown), 'PX', cooldown + 60000)
  end
  if kind == 'cooldown' then
    redis.call('SET', KEYS[3], string.format('%d', coolEnd), 'PX', string.format('%d', coolEnd - now + 60000))
  end
end
local state = 'planned'
local outcome = ''
if kind == 'silent' or kind == 'rate_limited' then
  state = 'done'
  outcome = kind
end
redis.call('HSET', KEYS[1], 'kind', kind, 'rkey', ARGV[3], 'plannedAt', string.format('%d', now),
  'notBefore', string.format('%d', notBefore), 'minutes', minutes, 'state', state, 'outcome', outcome)
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return redis.call('HGETALL', KEYS[1])
`;

function fields(flat: string[]): Record<string, string> {
  const f: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) f[flat[i]] = flat[i + 1];
  return f;
}

function toPlan(f: Record<string, string>): Plan | undefined {
  if (!f.kind || !f.rkey) return undefined;
  return {
    kind: f.kind as PlanKind,
    rkey: f.rkey,
    plannedAt: Number(f.plannedAt),
    notBefore: Number(f.notBefore),
    minutes: Number(f.minutes ?? 0),
    state: f.state === "done" ? "done" : "planned",
    ...(f.outcome ? { outcome: f.outcome } : {}),
    ...(f.reply ? { reply: f.reply } : {}),
  };
}

export class Ledger {
  constructor(readonly redis: Redis) {
    if (!("taskerPlan" in redis)) {
      redis.defineCommand("taskerPlan", { lua: PLAN_SCRIPT, numberOfKeys: 4 });
    }
  }

  /** The mention's plan, if one was made. */
  async get(uri: string): Promise<Plan | undefined> {
    return toPlan(await this.redis.hgetall(taskerKeys.mention(uri)));
  }

  /**
   * Decides the mention's reply once, atomically: the plan already made if there is one;
   * otherwise the kind asked for, a one-time cooldown notice, silence, or nothing when the
   * rate limit has no slot soon enough.
   */
  async plan(r: PlanRequest): Promise<Plan> {
    const flat = await (this.redis as Redis & {
      taskerPlan(...args: (string | number)[]): Promise<string[]>;
    }).taskerPlan(
      taskerKeys.mention(r.uri),
      taskerKeys.cooldown(r.requester),
      taskerKeys.notice(r.requester),
      taskerKeys.rate,
      r.now,
      r.kind,
      r.rkey,
      r.cooldownMs,
      MENTION_TTL_MS,
      Math.ceil(3_600_000 / r.perHour),
      Math.max(1, Math.floor(r.perHour / 10)),
      Math.max(0, r.maxWaitMs),
    );
    const plan = toPlan(fields(flat));
    if (!plan) throw new TypeError(`Cannot plan a reply: the record of "${r.uri}" is incomplete`);
    return plan;
  }

  /** Records how a mention ended: the reply's URI when one was posted. */
  async done(uri: string, outcome: string, reply?: string): Promise<void> {
    const key = taskerKeys.mention(uri);
    await this.redis.multi()
      .hset(key, { state: "done", outcome, ...(reply ? { reply } : {}) })
      .pexpire(key, MENTION_TTL_MS)
      .exec();
  }
}
