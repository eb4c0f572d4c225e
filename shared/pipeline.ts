/**
 * A pipeline whose commands may touch keys of many hash slots, such as one command per
 * account. On a single server it is the client's own pipeline. On a Redis Cluster, whose
 * client refuses a pipeline over keys served by several nodes, the commands are grouped by
 * the master serving each one's key slot (cluster.ts) and sent as one pipeline per master,
 * all at once; the replies come back in the order the commands were given, as ioredis's
 * `[error, result]` pairs.
 *
 * On a Cluster:
 * - each master's part goes on that master's own connection, so that a redirection comes
 *   back as the error of the command it concerns (the cluster client's pipeline would send
 *   the whole pipeline again to the node named, and during a slot's migration read there,
 *   as missing, keys not moved yet);
 * - a command a node redirected (MOVED or ASK: its slot moved or is moving) was not run
 *   there; it is sent again on its own through the cluster client, which follows the
 *   redirection; so is a command whose master the client has no connection to;
 * - a node's pipeline that fails as a whole (its connection closed) makes the whole call
 *   fail, with that error as cause; an error of one command (a timeout, a wrong type)
 *   stays that command's: no reply is ever left out;
 * - a command whose own keys are in several slots gets a CROSSSLOT error, as Redis would
 *   answer it, and is not sent;
 * - a command without a key goes with the commands of one of the nodes.
 * @module
 */
import { Command, Pipeline } from "ioredis";
import { keySlot } from "./cluster.ts";
import { errorMessage } from "./errors.ts";
import { type Cluster, isCluster, type Redis, type RedisClient } from "./redis.ts";

/** What redis.pipeline() gives: commands chained, then exec(). */
export type AnyPipeline = ReturnType<Redis["pipeline"]>;

/** A reply as a pipeline gives it: the command's error, or null and its result. */
export type PipelineReply = [error: Error | null, result: unknown];

/** A pipeline's replies, all of them results: the first command's error is thrown instead. */
export function repliesOf(replies: PipelineReply[] | null): [null, unknown][] {
  for (const [err] of replies ?? []) if (err) throw err;
  return (replies ?? []) as [null, unknown][];
}

interface Call {
  /** The pipeline method called: a command, its Buffer variant, or call/callBuffer. */
  method: string;
  args: unknown[];
}

/** Raised for a command whose own keys are in several slots; not sent. */
const CROSSSLOT = "CROSSSLOT Keys in request don't hash to the same slot";

/** A node's answer to a command whose slot it does not serve (the command was not run). */
const REDIRECTED = /^(MOVED|ASK) /;

/**
 * A pipeline for commands whose keys may be in many slots (`commands`, as
 * redis.pipeline(commands) takes them, start it). Chain commands as on redis.pipeline(),
 * Buffer variants and call/callBuffer included, then exec(): one pipeline on a single
 * server; on a Redis Cluster, one per master, in parallel, the replies in order.
 */
export function crossSlotPipeline(redis: RedisClient, commands?: unknown[][]): AnyPipeline {
  if (!isCluster(redis)) return redis.pipeline(commands);
  const calls: Call[] = (commands ?? []).map(([name, ...args]) => ({
    method: String(name),
    args,
  }));
  const methods = Pipeline.prototype as unknown as Record<string, unknown>;
  const pipe: AnyPipeline = new Proxy({} as AnyPipeline, {
    get(_, prop) {
      if (prop === "exec") return () => execAcross(redis, calls);
      if (prop === "length") return calls.length;
      if (typeof prop !== "string" || typeof methods[prop] !== "function") return undefined;
      return (...args: unknown[]) => {
        calls.push({ method: prop, args });
        return pipe;
      };
    },
  });
  return pipe;
}

/** The Redis command a pipeline method sends, and its arguments. */
function commandOf({ method, args }: Call): Command {
  if (method === "call" || method === "callBuffer") {
    return new Command(String(args[0]).toLowerCase(), args.slice(1) as string[]);
  }
  return new Command(method.replace(/Buffer$/, "").toLowerCase(), args as string[]);
}

/** The slots of a command's keys. */
function slotsOf(call: Call): Set<number> {
  const keys = commandOf(call).getKeys() as (string | Uint8Array | number)[];
  return new Set(keys.map((k) => keySlot(k instanceof Uint8Array ? k : String(k))));
}

function send(target: RedisClient | AnyPipeline, call: Call): unknown {
  const fn = (target as unknown as Record<string, (...a: unknown[]) => unknown>)[call.method];
  if (typeof fn !== "function") throw new TypeError(`${call.method} is not a command`);
  return fn.apply(target, call.args);
}

/** One command on its own, as the client sends it (following MOVED and ASK). */
async function alone(cluster: Cluster, call: Call): Promise<PipelineReply> {
  try {
    return [null, await send(cluster, call)];
  } catch (err) {
    return [err instanceof Error ? err : new Error(String(err)), undefined];
  }
}

async function execAcross(cluster: Cluster, calls: readonly Call[]): Promise<PipelineReply[]> {
  const out: (PipelineReply | undefined)[] = new Array(calls.length);
  // By master ("host:port"; "" while the client knows no master of the slot).
  const groups = new Map<string, number[]>();
  const keyless: number[] = [];
  calls.forEach((call, i) => {
    const slots = slotsOf(call);
    if (slots.size > 1) {
      out[i] = [new Error(CROSSSLOT), undefined];
      return;
    }
    if (slots.size === 0) {
      keyless.push(i);
      return;
    }
    const [slot] = slots;
    const node = cluster.slots[slot]?.[0] ?? "";
    const group = groups.get(node);
    if (group) group.push(i);
    else groups.set(node, [i]);
  });
  if (keyless.length > 0) {
    const first = [...groups].find(([node]) => node !== "")?.[1];
    if (first) first.push(...keyless);
    else groups.set("", [...groups.get("") ?? [], ...keyless]);
  }
  const masters = new Map(
    cluster.nodes("master").map((n) => [`${n.options.host}:${n.options.port}`, n]),
  );
  const again: number[] = [];
  await Promise.all([...groups].map(async ([node, indexes]) => {
    const master = masters.get(node);
    // A master the client has no connection to (yet): each command goes through the
    // cluster client, which finds its node.
    if (!master) {
      again.push(...indexes);
      return;
    }
    // The master's own connection: a redirection comes back as that command's error,
    // instead of the cluster client sending the whole pipeline elsewhere.
    const pipe = master.pipeline();
    for (const i of indexes) send(pipe, calls[i]);
    let replies: PipelineReply[];
    try {
      replies = (await pipe.exec()) ?? [];
    } catch (err) {
      throw new Error(
        `A pipeline of ${indexes.length} commands to ${node} failed: ${errorMessage(err)}`,
        { cause: err },
      );
    }
    if (replies.length !== indexes.length) {
      throw new Error(
        `A pipeline of ${indexes.length} commands to ${node} gave ${replies.length} replies`,
      );
    }
    indexes.forEach((i, k) => {
      const [err] = replies[k];
      if (err && REDIRECTED.test(err.message)) again.push(i);
      else out[i] = replies[k];
    });
  }));
  await Promise.all(again.map(async (i) => out[i] = await alone(cluster, calls[i])));
  return out as PipelineReply[];
}
