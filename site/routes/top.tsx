import {
  LANGUAGE_METRIC,
  LANGUAGE_WINDOWS,
  TOP_METRICS,
  TOP_WINDOWS,
  type TopMetric,
} from "@bsky/shared/keys";
import { LANG } from "@bsky/shared/langs";
import { ApiError } from "../api.ts";
import type { z } from "zod";
import type * as api from "@bsky/fart/schemas";
import { Avatar, PersonName } from "../components/PersonName.tsx";
import { languageName } from "../components/languages.ts";
import type { Dict } from "../i18n.ts";
import { Head } from "../server/render.ts";
import type { Handlers, PageProps } from "../server/types.ts";
import { circlesPath } from "../components/paths.ts";

type TopAnswer = z.infer<typeof api.topAnswer>;
type Metric = TopMetric | typeof LANGUAGE_METRIC;
type Window = TopAnswer["window"];

interface Data {
  metric: Metric;
  window: Window;
  /** With metric=posts: the language. */
  lang?: string;
  /** Undefined until the list is computed. */
  top?: TopAnswer;
  now: number;
}

/** `language`: with metric=posts (`lang` is the page's own language, as everywhere). */
export const query = ["metric", "window", "language"];

const METRICS: readonly Metric[] = [...TOP_METRICS, LANGUAGE_METRIC];

export const handler: Handlers<Data> = {
  async GET(_req, ctx) {
    const q = ctx.url.searchParams;
    const given = (name: string) => q.get(name) !== null && q.get(name) !== "";
    const bad = [
      ...(given("metric") && !METRICS.some((m) => m === q.get("metric")) ? ["metric"] : []),
      ...(given("window") &&
          ![...TOP_WINDOWS, ...LANGUAGE_WINDOWS].some((w) => w === q.get("window"))
        ? ["window"]
        : []),
      ...(given("language") && !LANG.test(q.get("language")!) ? ["language"] : []),
    ];
    if (bad.length) {
      throw new ApiError("bad_request", 400, `Not valid: ${bad.join(", ")}`, { fields: bad });
    }
    const metric = METRICS.find((m) => m === q.get("metric")) ?? "likes_received";
    const posts = metric === LANGUAGE_METRIC;
    const windows: readonly Window[] = posts ? LANGUAGE_WINDOWS : TOP_WINDOWS;
    const window = windows.find((w) => w === q.get("window")) ?? "24h";
    // Posts are shown in a language: the one asked for, else the page's own.
    const asked = q.get("language") ?? "";
    const lang = posts ? (LANG.test(asked) ? asked : ctx.state.lang) : undefined;
    let top: TopAnswer | undefined;
    try {
      top = await ctx.api.json<TopAnswer>(
        `/v1/stats/top?metric=${metric}&window=${window}${lang ? `&lang=${lang}` : ""}`,
      );
    } catch (err) {
      // A 404 here means "not computed yet", which the page says itself.
      if (!(err instanceof ApiError && err.kind === "not_found")) throw err;
    }
    return ctx.render({ metric, window, lang, top, now: Date.now() });
  },
};

const windowName = (w: Window, t: Dict) => ({ "24h": t.w24h, "72h": t.w72h, "7d": t.w7d })[w];

export default function Top({ data, state: { t, lang: ui } }: PageProps<Data>) {
  const { metric, window, lang, top } = data;
  const posts = metric === LANGUAGE_METRIC;
  const href = (m: Metric, w: string, l?: string) =>
    `/top?metric=${m}&window=${w}${m === LANGUAGE_METRIC && l ? `&language=${l}` : ""}`;
  const minutes = top
    ? Math.max(0, Math.round((data.now - Date.parse(top.computedAt)) / 60000))
    : 0;
  const windows: readonly Window[] = posts ? LANGUAGE_WINDOWS : TOP_WINDOWS;
  // The languages with lists, and the one shown even when it has none.
  const languages = posts
    ? [...new Set([...(top?.languages ?? []).map((l) => l.lang), lang!])]
    : [];
  const heading = posts
    ? `${t.topLanguage} ${languageName(lang!, ui)} · ${windowName(window, t)}`
    : `${t.metrics[metric]} · ${windowName(window, t)}`;
  return (
    <section class="top-page">
      <Head>
        <title>{`${heading} · ${t.top} · ${t.siteName}`}</title>
      </Head>
      <h1>{t.top}</h1>
      <nav class="tabs" aria-label={t.top}>
        <ul>
          {METRICS.map((m) => (
            <li key={m}>
              <a
                href={href(m, m === LANGUAGE_METRIC || !posts ? window : "24h", lang ?? ui)}
                aria-current={m === metric ? "page" : undefined}
              >
                {t.metrics[m]}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <nav class="tabs small" aria-label={t.window}>
        <ul>
          {windows.map((w) => (
            <li key={w}>
              <a href={href(metric, w, lang)} aria-current={w === window ? "page" : undefined}>
                {windowName(w, t)}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      {posts && (
        <nav class="tabs small languages" aria-label={t.postsLanguage}>
          <ul>
            {languages.map((l) => (
              <li key={l}>
                <a
                  href={href(metric, window, l)}
                  hreflang={l}
                  aria-current={l === lang ? "page" : undefined}
                  data-lang={l}
                >
                  {languageName(l, ui)}
                </a>
              </li>
            ))}
          </ul>
        </nav>
      )}
      <h2>{heading}</h2>
      {!top ? <p class="empty" data-empty="top">{t.notComputed}</p> : (
        <>
          <p class="computed">
            {t.computedAt}:{" "}
            <time dateTime={top.computedAt}>
              {top.computedAt.slice(0, 16).replace("T", " ")} UTC
            </time>{" "}
            ({t.ago(minutes)})
          </p>
          {posts && top.items.length === 0 && (
            <p class="empty" data-empty="language">{t.noLanguageList}</p>
          )}
          {top.items.length > 0 && (
            <ol class="toplist">
              {top.items.map((item, i) => (
                <li key={item.did} data-did={item.did}>
                  <span class="rank" aria-hidden="true">{i + 1}</span>
                  <Avatar p={item} size={36} />
                  <a href={circlesPath(item.handle ?? item.did)}>
                    <PersonName p={item} />
                  </a>
                  <span class="count" data-count={item.count}>{item.count.toLocaleString()}</span>
                </li>
              ))}
            </ol>
          )}
        </>
      )}
    </section>
  );
}
