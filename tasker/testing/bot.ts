/**
 * Test helpers: the real chain (a local PDS and PLC, Redis, the firehose and the indexer,
 * the API as its own process) with a bot account that has an app password, as a person
 * would set one up, and the tasker as its own process with the flags `deno task start`
 * gives it. Disposing stops everything in reverse order.
 */
import assert from "node:assert/strict";
import { type Chain, startChain } from "@bsky/indexer/testing/chain";
import { type Account, PdsClient } from "@bsky/shared/testing/pds_client";
import { freePort } from "@bsky/shared/testing/redis_server";
import { settled } from "@bsky/shared/testing/settled";
import { serviceArgs, SERVICES } from "../../scripts/services.ts";
import { spawnFart } from "../../fart/testing/spawn.ts";

const root = new URL("../../", import.meta.url).pathname;

/** A bot account and an app password made for it (com.atproto.server.createAppPassword). */
export async function createBot(
  client: PdsClient,
  name = "circlesbot",
): Promise<{ account: Account; appPassword: string }> {
  const account = await client.createAccount(name);
  const out = await client.call("com.atproto.server.createAppPassword", {
    auth: `Bearer ${account.accessJwt}`,
    body: { name: "tasker" },
  });
  const appPassword = String(out?.password);
  assert.match(appPassword, /^[a-z2-7]{4}(-[a-z2-7]{4}){3}$/, "an app password");
  return { account, appPassword };
}

/** The tasker as a process: its log lines as they come, and its /metrics. */
export class TaskerProcess implements AsyncDisposable {
  readonly lines: Record<string, unknown>[] = [];
  #child: Deno.ChildProcess | undefined;
  #reading: Promise<void> | undefined;

  constructor(readonly env: Record<string, string>) {}

  /** The running process's id. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  get metricsUrl(): string {
    return `http://127.0.0.1:${this.env.TASKER_METRICS_PORT}/metrics`;
  }

  /** Starts the process and waits until it is signed in (/healthz answers 200). */
  async start(extra: Record<string, string> = {}): Promise<void> {
    const spec = SERVICES.find((s) => s.name === "tasker")!;
    const env = { ...this.env, ...extra };
    const child = this.#child = new Deno.Command(Deno.execPath(), {
      args: serviceArgs(spec, env),
      cwd: root,
      env: { ...env, ...(Deno.env.get("HOME") ? { HOME: Deno.env.get("HOME")! } : {}) },
      clearEnv: true,
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const debug = Boolean(Deno.env.get("TASKER_DEBUG"));
    this.#reading = (async () => {
      let rest = "";
      for await (const text of child.stdout.pipeThrough(new TextDecoderStream())) {
        const parts = (rest + text).split("\n");
        rest = parts.pop()!;
        for (const line of parts) {
          if (debug) console.error(line);
          try {
            this.lines.push(JSON.parse(line));
          } catch {
            this.lines.push({ msg: line });
          }
        }
      }
    })();
    await settled(async () => {
      const res = await fetch(spec.health(env));
      await res.body?.cancel();
      assert.equal(res.status, 200, "the tasker is signed in");
    }, 30_000);
  }

  /** Waits for a log line that passes `test`. */
  async line(test: (l: Record<string, unknown>) => boolean, timeoutMs = 30_000) {
    let found: Record<string, unknown> | undefined;
    await settled(() => {
      found = this.lines.find(test);
      assert.ok(found, "the line was logged");
      return Promise.resolve();
    }, timeoutMs);
    return found!;
  }

  /** A counter of /metrics (0 when it has no such series yet). */
  async metric(series: string): Promise<number> {
    const text = await (await fetch(this.metricsUrl)).text();
    for (const line of text.split("\n")) {
      if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
    }
    return 0;
  }

  /** Kills the process (SIGKILL unless said otherwise) and waits for it to be gone. */
  async kill(signal: Deno.Signal = "SIGKILL"): Promise<void> {
    const child = this.#child;
    if (!child) return;
    this.#child = undefined;
    try {
      child.kill(signal);
    } catch { /* gone */ }
    await child.status;
    await this.#reading;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.kill("SIGTERM");
  }
}

/** Every post of the bot that replies to `uri`, read from the bot's repo on the PDS. */
export async function repliesTo(
  pdsUrl: string,
  bot: string,
  uri: string,
  // deno-lint-ignore no-explicit-any -- records as the PDS gives them, read field by field
): Promise<{ uri: string; cid: string; value: Record<string, any> }[]> {
  const out = [];
  let cursor = "";
  do {
    const url = new URL("/xrpc/com.atproto.repo.listRecords", pdsUrl);
    url.searchParams.set("repo", bot);
    url.searchParams.set("collection", "app.bsky.feed.post");
    url.searchParams.set("limit", "100");
    if (cursor) url.searchParams.set("cursor", cursor);
    const page = await (await fetch(url)).json();
    for (const r of page.records) if (r.value.reply?.parent?.uri === uri) out.push(r);
    cursor = page.cursor ?? "";
  } while (cursor);
  return out;
}

/** Waits for exactly one reply of the bot to `uri`, and returns it. */
export async function oneReply(pdsUrl: string, bot: string, uri: string, timeoutMs = 30_000) {
  let replies: Awaited<ReturnType<typeof repliesTo>> = [];
  await settled(async () => {
    replies = await repliesTo(pdsUrl, bot, uri);
    assert.ok(replies.length > 0, `a reply to ${uri}`);
  }, timeoutMs);
  assert.equal(replies.length, 1, `one reply to ${uri}`);
  return replies[0];
}

/** The chain, the API as a process, and a bot with its app password. */
export interface BotWorld extends AsyncDisposable {
  chain: Chain;
  client: PdsClient;
  bot: Account;
  apiUrl: string;
  /** The tasker's settings, for a TaskerProcess. */
  taskerEnv: Record<string, string>;
  /** Resolves once the firehose passes the bot's mentions with what a reply needs. */
  watching(): Promise<void>;
}

export async function startBotWorld(): Promise<BotWorld> {
  await using stack = new AsyncDisposableStack();
  const chain = stack.use(await startChain());
  const apiPort = freePort();
  const api = await spawnFart({
    REDIS_URL: chain.redisServer.url,
    FART_PORT: String(apiPort),
    FART_CACHE_SECONDS: "1",
    FART_PLC_URL: chain.pds.plcUrl,
    FART_HANDLE_RESOLVER_URL: chain.pds.pdsUrl,
    FART_AVATAR_CDN_URL: chain.pds.pdsUrl,
    FART_RATE_PER_IP: "100000",
    LOG_LEVEL: "error",
  });
  stack.defer(async () => {
    try {
      api.kill("SIGTERM");
    } catch { /* gone */ }
    await api.status;
  });
  const client = new PdsClient(chain.pds.pdsUrl, { adminPassword: chain.pds.adminPassword });
  const { account: bot, appPassword } = await createBot(client);
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const taskerEnv = {
    REDIS_URL: chain.redisServer.url,
    FIREHOSE_PARTITIONS: "2",
    TASKER_SERVICE_URL: chain.pds.pdsUrl,
    TASKER_IDENTIFIER: bot.handle,
    TASKER_APP_PASSWORD: appPassword,
    TASKER_METRICS_PORT: String(freePort()),
    TASKER_LEASE_MS: "2000",
    FART_URL: apiUrl,
    SITE_PUBLIC_URL: "https://circles.example",
    LOG_LEVEL: "info",
  };
  const owned = stack.move();
  return {
    chain,
    client,
    bot,
    apiUrl,
    taskerEnv,
    async watching() {
      await settled(async () => {
        const text = await chain.firehose.metrics.registry.render();
        assert.match(text, /^firehose_watched_accounts 1$/m, "the firehose watches the bot");
      }, 30_000);
    },
    [Symbol.asyncDispose]: () => owned.disposeAsync(),
  };
}
