import { Head } from "../server/render.ts";
import type { ErrorData } from "../server/router.ts";
import type { PageProps } from "../server/types.ts";
import type { Dict } from "../i18n.ts";

const TEXT: Record<ErrorData["kind"], [keyof Dict, keyof Dict]> = {
  not_found: ["unknownTitle", "unknownText"],
  gone: ["goneTitle", "goneText"],
  down: ["downTitle", "downText"],
  busy: ["downTitle", "downText"],
  limited: ["limitedTitle", "limitedText"],
  bad_request: ["badTitle", "badText"],
  internal: ["errorTitle", "errorText"],
  not_page: ["notFoundTitle", "notFoundText"],
};

/** Unknown handle, hidden account, API down, or our own failure: said plainly. */
export default function ErrorPage({ data, state: { t } }: PageProps<ErrorData>) {
  const [title, text] = TEXT[data.kind];
  return (
    <section class={`message message-${data.kind}`} data-error={data.kind}>
      <Head>
        <title>{`${t[title]} · ${t.siteName}`}</title>
        <meta name="robots" content="noindex" />
      </Head>
      <h1>{t[title] as string}</h1>
      <p>{t[text] as string}</p>
      {data.fields?.length
        ? <p>{t.badFields.replace("{fields}", data.fields.join(", "))}</p>
        : null}
      <p>
        <a href="/">{t.backHome}</a>
      </p>
    </section>
  );
}
