import { SearchBox } from "../components/SearchBox.tsx";
import { Head } from "../server/render.ts";
import type { PageProps } from "../server/types.ts";

export default function Home({ state: { t } }: PageProps) {
  return (
    <section class="home">
      <Head>
        <title>{t.siteName}</title>
        <meta name="description" content={t.tagline} />
      </Head>
      <h1>{t.siteName}</h1>
      <p class="lead">{t.tagline}</p>
      <SearchBox t={t} />
      <p>{t.homeIntro}</p>
    </section>
  );
}
