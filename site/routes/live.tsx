import LiveChart from "../islands/LiveChart.tsx";
import { COLLECTION_NAMES, type LiveAnswer } from "../components/live.ts";
import { Head } from "../server/render.ts";
import type { Handlers, PageProps } from "../server/types.ts";

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
        labels={{
          eventsPerSecond: t.eventsPerSecond,
          lag: t.lag,
          backlog: t.backlog,
          activeAccounts: t.activeAccounts,
          byCollection: t.byCollection,
          chart: t.liveChart,
          postsByLanguage: t.postsByLanguage,
          postsByLanguageNote: t.postsByLanguageNote,
          noLanguages: t.noLanguages,
        }}
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
