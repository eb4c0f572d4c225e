import type { z } from "zod";
import type * as api from "@bsky/fart/schemas";
import { ApiError } from "../api.ts";
import OptOutCode from "../islands/OptOutCode.tsx";
import { composeHref } from "../components/share.ts";
import { textsAs } from "../i18n.ts";
import { Head } from "../server/render.ts";
import type { Handlers, PageProps } from "../server/types.ts";

type OptAnswer = z.infer<typeof api.optoutAnswer>;
type Problem = "unknown" | "invalid" | "expired";

interface Data {
  handle: string;
  action: "out" | "in";
  answer?: OptAnswer;
  problem?: Problem;
}

const HANDLE = /^@?[a-zA-Z0-9][a-zA-Z0-9.-]{0,252}$/;
const CODE = /^[A-Za-z2-9]{8}$/;
/** A form with a handle and an action is far below this. */
const MAX_FORM_BYTES = 4096;

/** The request's body as text, refused past `max` bytes. */
async function boundedText(req: Request, max: number): Promise<string | undefined> {
  if (Number(req.headers.get("content-length") ?? 0) > max) return undefined;
  const decoder = new TextDecoder();
  let text = "", size = 0;
  for await (const chunk of req.body ?? []) {
    size += chunk.length;
    if (size > max) return undefined;
    text += decoder.decode(chunk, { stream: true });
  }
  return text + decoder.decode();
}

/**
 * Whether a form post comes from this site's own pages, as the browser tells: Origin (sent
 * with every form post) must be the site's, and Sec-Fetch-Site, when sent, same-origin.
 * Another site's page cannot make its visitors ask for codes. Clients that are not browsers
 * send neither header and are judged by the API's own limits.
 */
function fromOwnPage(req: Request, own: string): boolean {
  const origin = req.headers.get("origin");
  if (origin !== null && origin !== own) return false;
  const site = req.headers.get("sec-fetch-site");
  return site === null || site === "same-origin" || site === "none";
}

/**
 * Opting out: the form asks the API for a one-time code (POST, then a redirect to the
 * code's own page, so reloading asks nothing twice); the code's page says what to post
 * and whether the network has carried it yet.
 */
export const query = ["code"];

export const handler: Handlers<Data> = {
  async GET(_req, ctx) {
    const code = ctx.url.searchParams.get("code");
    if (code === null) return ctx.render({ handle: "", action: "out" });
    if (!CODE.test(code)) {
      return ctx.render({ handle: "", action: "out", problem: "expired" }, { status: 404 });
    }
    try {
      const answer = await ctx.api.json<OptAnswer>(`/v1/optout/codes/${code}`, { fresh: true });
      return ctx.render({ handle: answer.handle ?? answer.did, action: answer.action, answer }, {
        headers: { "cache-control": "no-store" },
      });
    } catch (err) {
      if (err instanceof ApiError && err.kind === "not_found") {
        return ctx.render({ handle: "", action: "out", problem: "expired" }, { status: 404 });
      }
      throw err;
    }
  },
  async POST(req, ctx) {
    if (!fromOwnPage(req, ctx.config.SITE_PUBLIC_URL || ctx.url.origin)) {
      return new Response("Forms are taken only from this site's own pages", {
        status: 403,
        headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" },
      });
    }
    const body = await boundedText(req, MAX_FORM_BYTES);
    if (body === undefined) return new Response("Form too large", { status: 413 });
    const form = new URLSearchParams(body);
    const handle = (form.get("handle") ?? "").trim().replace(/^@/, "");
    const action = form.get("action") === "in" ? "in" : "out";
    if (!HANDLE.test(handle)) {
      return ctx.render({ handle, action, problem: "invalid" }, { status: 400 });
    }
    try {
      const answer = await ctx.api.post<OptAnswer>(
        `/v1/optout/${encodeURIComponent(handle)}?action=${action}`,
        { account: handle.toLowerCase() },
      );
      const lang = ctx.url.searchParams.get("lang");
      const to = `/optout?code=${answer.code}${lang ? `&lang=${encodeURIComponent(lang)}` : ""}`;
      return new Response(null, { status: 303, headers: { location: to } });
    } catch (err) {
      if (err instanceof ApiError && (err.kind === "not_found" || err.kind === "bad_request")) {
        const problem = err.kind === "not_found" ? "unknown" : "invalid";
        return ctx.render({ handle, action, problem }, { status: err.status });
      }
      throw err;
    }
  },
};

/** The code's texts by the names the code's island takes them by. */
const CODE_TEXTS = {
  postThis: "optPostThis",
  expires: "optExpires",
  waiting: "optWaiting",
  doneOut: "optDoneOut",
  doneIn: "optDoneIn",
  expired: "optExpired",
  check: "optCheck",
  autoCheck: "optAutoCheck",
  copy: "optCopy",
  copied: "copied",
  copyFailed: "copyFailed",
  postOnBluesky: "postOnBluesky",
} as const;

export default function OptOut({ data, state: { t } }: PageProps<Data>) {
  const { answer, problem } = data;
  const problemText: Record<Problem, string> = {
    unknown: t.optUnknown,
    invalid: t.optInvalid,
    expired: t.optExpired,
  };
  return (
    <section class="optout">
      <Head>
        <title>{`${t.optTitle} · ${t.siteName}`}</title>
        <meta name="robots" content="noindex" />
      </Head>
      <h1>{t.optTitle}</h1>
      {problem && <p class="notice" role="alert" data-problem={problem}>{problemText[problem]}</p>}
      {answer
        ? (
          <>
            <p>
              <strong>@{data.handle}</strong> · {answer.action === "out" ? t.optHide : t.optShow}
            </p>
            <OptOutCode
              code={answer.code}
              phrase={answer.text}
              compose={composeHref(answer.text)}
              state={answer.state}
              action={answer.action}
              expiresAt={answer.expiresAt}
              labels={textsAs(t, CODE_TEXTS)}
            />
          </>
        )
        : (
          <>
            <p>{t.optIntro}</p>
            <form method="post" action="/optout" class="opt-form">
              <label for="opt-handle">{t.optHandle}</label>
              <input
                id="opt-handle"
                type="text"
                name="handle"
                value={data.handle}
                placeholder={t.searchPlaceholder}
                autocomplete="username"
                required
              />
              <fieldset>
                <label>
                  <input type="radio" name="action" value="out" checked={data.action === "out"} />
                  {" "}
                  {t.optHide}
                </label>
                <label>
                  <input type="radio" name="action" value="in" checked={data.action === "in"} />
                  {" "}
                  {t.optShow}
                </label>
              </fieldset>
              <button type="submit">{t.optGetCode}</button>
            </form>
          </>
        )}
    </section>
  );
}
