import type { AppProps } from "../server/types.ts";

/** Switches language on the same page, keeping its other parameters. */
function langHref(url: URL, lang: string): string {
  const q = new URLSearchParams(url.search);
  q.set("lang", lang);
  return `${url.pathname}?${q}`;
}

export default function App({ Component, url, state }: AppProps) {
  const { t } = state;
  const nav: [string, string][] = [["/", t.navHome], ["/top", t.navTop], ["/live", t.navLive], [
    "/about",
    t.navAbout,
  ]];
  const here = (href: string) =>
    href === "/" ? url.pathname === "/" : url.pathname.startsWith(href);
  return (
    <>
      <a class="skip" href="#main">{t.skip}</a>
      <header class="top">
        <a class="brand" href="/">
          <span class="brand-mark" aria-hidden="true">◎</span> {t.siteName}
        </a>
        <nav aria-label="Main">
          <ul>
            {nav.map(([href, label]) => (
              <li key={href}>
                <a href={href} aria-current={here(href) ? "page" : undefined}>{label}</a>
              </li>
            ))}
          </ul>
        </nav>
        <nav class="langs" aria-label={t.language}>
          <a
            href={langHref(url, "en")}
            hreflang="en"
            lang="en"
            aria-current={state.lang === "en" ? "true" : undefined}
          >
            EN
          </a>
          <a
            href={langHref(url, "pt")}
            hreflang="pt-BR"
            lang="pt-BR"
            aria-current={state.lang === "pt" ? "true" : undefined}
          >
            PT
          </a>
        </nav>
      </header>
      <main id="main" tabIndex={-1}>
        <Component />
      </main>
      <footer class="foot">
        <p>
          {t.tagline} <a href="/about">{t.navAbout}</a> · <a href="/optout">{t.optTitle}</a>
        </p>
      </footer>
    </>
  );
}
