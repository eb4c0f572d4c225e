import LiveChart from "../islands/LiveChart.tsx";
import { COLLECTION_NAMES, type LiveAnswer } from "../components/live.ts";
import { textsAs } from "../i18n.ts";
import { Head } from "../server/render.ts";
import type { Handlers, PageProps } from "../server/types.ts";

/** The live chart's texts by the names the chart takes them by. */
const LIVE_TEXTS = {
  eventsPerSecond: "eventsPerSecond",
  lag: "lag",
  backlog: "backlog",
  activeAccounts: "activeAccounts",
  byCollection: "byCollection",
  chart: "liveChart",
  postsByLanguage: "postsByLanguage",
  postsByLanguageNote: "postsByLanguageNote",
  noLanguages: "noLanguages",
} as const;

export const handler: Handlers<LiveAnswer> = {
  async GET(_req, ctx) {
    return ctx.render(await ctx.api.json<LiveAnswer>("/v1/stats/live"));
  },
};

export default function Live({ data, state: { t, lang } }: PageProps<LiveAnswer>) {
  return (
    <section class="live-page">
      <Head>
        <title>{`${t.live} · ${t.siteName}`}</title>
      </Head>
      <h1>{t.live}</h1>
      <LiveChart
        initial={data}
        lang={lang}
        labels={textsAs(t, LIVE_TEXTS)}
        names={Object.fromEntries(
          Object.entries(COLLECTION_NAMES).map(([nsid, key]) => [nsid, t[key]]),
        )}
      />
      <noscript>
        <p>
          <a href="/live">{t.refresh}</a>
        </p>
      </noscript>
    </section>
  );
}
