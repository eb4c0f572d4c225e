import { TOP_METRICS, TOP_WINDOWS, type TopMetric, type TopWindow } from "@bsky/shared/keys";
import { ApiError } from "../api.ts";
import type { z } from "zod";
import type * as api from "@bsky/fart/schemas";
import { Avatar, PersonName } from "../components/PersonName.tsx";
import { Head } from "../server/render.ts";
import type { Handlers, PageProps } from "../server/types.ts";

type TopAnswer = z.infer<typeof api.topAnswer>;

interface Data {
  metric: TopMetric;
  window: TopWindow;
  /** Undefined until the list is computed. */
  top?: TopAnswer;
  now: number;
}

export const query = ["metric", "window"];

export const handler: Handlers<Data> = {
  async GET(_req, ctx) {
    const q = ctx.url.searchParams;
    const metric = TOP_METRICS.find((m) => m === q.get("metric")) ?? "likes_received";
    const window = TOP_WINDOWS.find((w) => w === q.get("window")) ?? "24h";
    let top: TopAnswer | undefined;
    try {
      top = await ctx.api.json<TopAnswer>(`/v1/stats/top?metric=${metric}&window=${window}`);
    } catch (err) {
      // A 404 here means "not computed yet", which the page says itself.
      if (!(err instanceof ApiError && err.kind === "not_found")) throw err;
    }
    return ctx.render({ metric, window, top, now: Date.now() });
  },
};

export default function Top({ data, state: { t } }: PageProps<Data>) {
  const { metric, window, top } = data;
  const href = (m: string, w: string) => `/top?metric=${m}&window=${w}`;
  const minutes = top
    ? Math.max(0, Math.round((data.now - Date.parse(top.computedAt)) / 60000))
    : 0;
  return (
    <section class="top-page">
      <Head>
        <title>{`${t.metrics[metric]} · ${t.top} · ${t.siteName}`}</title>
      </Head>
      <h1>{t.top}</h1>
      <nav class="tabs" aria-label={t.top}>
        <ul>
          {TOP_METRICS.map((m) => (
            <li key={m}>
              <a href={href(m, window)} aria-current={m === metric ? "page" : undefined}>
                {t.metrics[m]}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <nav class="tabs small" aria-label={t.window}>
        <ul>
          {TOP_WINDOWS.map((w) => (
            <li key={w}>
              <a href={href(metric, w)} aria-current={w === window ? "page" : undefined}>
                {w === "24h" ? t.w24h : t.w7d}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <h2>{t.metrics[metric]} · {window === "24h" ? t.w24h : t.w7d}</h2>
      {!top ? <p class="empty" data-empty="top">{t.notComputed}</p> : (
        <>
          <p class="computed">
            {t.computedAt}:{" "}
            <time dateTime={top.computedAt}>
              {top.computedAt.slice(0, 16).replace("T", " ")} UTC
            </time>{" "}
            ({t.ago(minutes)})
          </p>
          <ol class="toplist">
            {top.items.map((item, i) => (
              <li key={item.did} data-did={item.did}>
                <span class="rank" aria-hidden="true">{i + 1}</span>
                <Avatar p={item} size={36} />
                <a href={`/c/${encodeURIComponent(item.handle ?? item.did)}`}>
                  <PersonName p={item} />
                </a>
                <span class="count" data-count={item.count}>{item.count.toLocaleString()}</span>
              </li>
            ))}
          </ol>
        </>
      )}
    </section>
  );
}
