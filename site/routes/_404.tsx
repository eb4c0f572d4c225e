import { Head } from "../server/render.ts";
import type { PageProps } from "../server/types.ts";

export default function NotFound({ state: { t } }: PageProps) {
  return (
    <section class="message">
      <Head>
        <title>{`${t.notFoundTitle} · ${t.siteName}`}</title>
      </Head>
      <h1>{t.notFoundTitle}</h1>
      <p>{t.notFoundText}</p>
      <p>
        <a href="/">{t.backHome}</a>
      </p>
    </section>
  );
}
