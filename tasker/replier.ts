/**
 * Answers one mention of the bot, at most once, ever. The order of steps is the guarantee:
 *
 * 1. The mention's plan is made once, in Redis, before anything is posted (ledger.ts): the
 *    reply's kind, after the requester's cooldown and the global rate limit, and the
 *    reply's record key, derived from the mention (rkey.ts).
 * 2. The reply is posted at that key: first looked up, then created. A key that exists
 *    cannot be created again, so a retry after a crash, a timeout or a redelivery finds the
 *    reply made before instead of making another.
 * 3. Only then is the mention marked done and its stream entry acknowledged; a failure
 *    before leaves it pending, to be tried again (consumer.ts).
 *
 * Checks that need no memory (the bot itself, the post's age, no command, an account not
 * shown) come before the plan, so nothing is kept for mentions that get no reply.
 */
import type { Clock } from "@bsky/shared/clock";
import { errorMessage } from "@bsky/shared/errors";
import type { FirehoseEvent } from "@bsky/shared/events";
import type { Logger } from "@bsky/shared/log";
import type { Redis } from "@bsky/shared/redis";
import { OPTED_OUT, profiles } from "@bsky/store/queries";
import { type ApiClient, ApiError } from "./api.ts";
import { parseCommand } from "./command.ts";
import { composeReply } from "./compose.ts";
import type { CrashPoint } from "./config.ts";
import { sleep } from "./http.ts";
import type { Ledger, Plan } from "./ledger.ts";
import { type Mention, mentionOf, POST } from "./mention.ts";
import type { TaskerMetrics } from "./metrics.ts";
import { type PdsSession, XrpcError } from "./pds.ts";
import { postOnce, RkeyTakenError } from "./post_reply.ts";
import { richText } from "./richtext.ts";
import { replyRkey } from "./rkey.ts";

/** A plan still not posted this long after it was made is given up: the answer would be stale. */
export const GIVE_UP_MS = 3_600_000;

export interface ReplierOptions {
  cooldownMs: number;
  maxAgeMs: number;
  perHour: number;
  siteUrl: string;
  /** Tests only: hold at this point so that the process can be killed there. */
  crashAt: CrashPoint | "";
}

export class Replier {
  constructor(
    readonly redis: Redis,
    readonly ledger: Ledger,
    readonly pds: PdsSession,
    readonly api: ApiClient,
    readonly clock: Clock,
    readonly metrics: TaskerMetrics,
    readonly log: Logger,
    readonly options: ReplierOptions,
  ) {}

  #count(outcome: string): string {
    this.metrics.replies.inc({ outcome });
    return outcome;
  }

  /**
   * Handles one event: the outcome for a mention of the bot, undefined for anything else
   * (or a mention already handled). Throws when the mention must be tried again later.
   */
  async handle(e: FirehoseEvent): Promise<string | undefined> {
    const m = mentionOf(e, this.pds.did);
    if (m === undefined) return undefined;
    if (m === "self") return this.#count("self");
    this.metrics.mentions.inc();
    if (m === "malformed") return this.#count("malformed");
    let plan = await this.ledger.get(m.uri);
    if (plan?.state === "done") return undefined;
    // A plan made just now has had no attempt yet: its reply need not be looked for first.
    let fresh = false;
    if (!plan) {
      const command = parseCommand(m.post.text);
      if (!command) return this.#count("no_command");
      const now = this.clock.now();
      // The commit time, and the author's own claim, which may be older (an import).
      const created = Date.parse(m.post.createdAt ?? "");
      const age = Math.max(now - m.time, Number.isFinite(created) ? now - created : 0);
      if (age > this.options.maxAgeMs) return this.#count("too_old");
      const [requester] = await profiles(this.redis, [m.author]);
      if (requester.status && requester.status !== "active") {
        return this.#count(requester.status === OPTED_OUT ? "opted_out" : "inactive");
      }
      plan = await this.ledger.plan({
        uri: m.uri,
        requester: m.author,
        kind: command.kind,
        rkey: replyRkey(m.uri, m.time),
        now,
        cooldownMs: this.options.cooldownMs,
        perHour: this.options.perHour,
        maxWaitMs: this.options.maxAgeMs - age,
      });
      if (plan.state === "done") return this.#count(plan.kind);
      fresh = plan.plannedAt === now;
    }
    try {
      return await this.#reply(m, plan, fresh);
    } catch (err) {
      // The PDS or the API refused the reply itself: trying again would fail the same way.
      const refused = (err instanceof XrpcError && err.status !== 401 && err.status !== 403) ||
        err instanceof ApiError;
      if (!refused && !(err instanceof RkeyTakenError)) throw err;
      this.log.error("Cannot reply to a mention", { mention: m.uri, err: errorMessage(err) });
      const outcome = err instanceof RkeyTakenError ? "rkey_taken" : "failed";
      await this.ledger.done(m.uri, outcome);
      return this.#count(outcome);
    }
  }

  async #hold(point: CrashPoint): Promise<void> {
    if (this.options.crashAt !== point) return;
    this.log.warn("Holding at a test crash point", { at: point });
    await new Promise(() => {});
  }

  async #reply(m: Mention, plan: Plan, fresh: boolean): Promise<string> {
    if (this.clock.now() - plan.plannedAt > GIVE_UP_MS) {
      await this.ledger.done(m.uri, "gave_up");
      return this.#count("gave_up");
    }
    if (plan.notBefore > this.clock.now()) await sleep(plan.notBefore - this.clock.now());
    // Where a reply's time goes, for the log: from the commit to here (the firehose, the
    // streams, the queue), the API, the blob upload, the post.
    const ms: Record<string, number> = { wait: this.clock.now() - m.time };
    let mark = performance.now();
    const lap = (step: string) => {
      const now = performance.now();
      ms[step] = Math.round(now - mark);
      mark = now;
    };
    const composed = await composeReply(
      {
        api: this.api,
        pds: this.pds,
        siteUrl: this.options.siteUrl,
        lap,
        afterUpload: () => this.#hold("after_upload"),
      },
      m,
      plan,
    );
    if (composed === "hidden") {
      await this.ledger.done(m.uri, "opted_out");
      return this.#count("opted_out");
    }
    const { outcome, lang, pieces, embed } = composed;
    const { text, facets } = richText(pieces);
    const record: Record<string, unknown> = {
      $type: POST,
      text,
      createdAt: new Date(this.clock.now()).toISOString(),
      langs: [lang],
      reply: { root: m.root, parent: m.parent },
      ...(facets.length > 0 ? { facets } : {}),
      ...(embed ? { embed } : {}),
    };
    if (!("api" in ms)) lap("api");
    const posted = await postOnce(this, plan.rkey, record, m.uri, !fresh);
    lap("post");
    if (posted.created) {
      await this.#hold("after_post");
      this.metrics.latency.observe((this.clock.now() - m.time) / 1000);
    }
    await this.ledger.done(m.uri, outcome, posted.uri);
    this.log.info("Replied to a mention", {
      mention: m.uri,
      reply: posted.uri,
      outcome,
      lang,
      ms,
      sinceCommitMs: this.clock.now() - m.time,
    });
    return this.#count(outcome);
  }
}
