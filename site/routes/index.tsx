import HandleSearch from "../islands/HandleSearch.tsx";
import { Head } from "../server/render.ts";
import type { PageProps } from "../server/types.ts";

export default function Home({ state: { t, lang } }: PageProps) {
  return (
    <section class="home">
      <Head>
        <title>{t.siteName}</title>
        <meta name="description" content={t.tagline} />
      </Head>
      <h1>{t.siteName}</h1>
      <p class="lead">{t.tagline}</p>
      <HandleSearch
        label={t.searchLabel}
        placeholder={t.searchPlaceholder}
        button={t.searchButton}
        none={t.searchNone}
        results={lang === "pt" ? "{n} resultados" : "{n} results"}
      />
      <p>{t.homeIntro}</p>
    </section>
  );
}
