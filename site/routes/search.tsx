import { ApiError } from "../api.ts";
import { SearchBox } from "../components/SearchBox.tsx";
import { CONTROL } from "../options.ts";
import { findActor, type Found } from "../components/find_actor.ts";
import { PersonName } from "../components/PersonName.tsx";
import { Head } from "../server/render.ts";
import type { Handlers, PageProps } from "../server/types.ts";
import { circlesPath } from "../components/paths.ts";

/**
 * The search form's target, with or without JavaScript: straight to the circles of the
 * account meant, or a list to choose from when what was typed fits several (or none).
 */
export const query = ["q"];

type Data = Extract<Found, { choose: unknown }>;

export const handler: Handlers<Data> = {
  async GET(_req, ctx) {
    const q = ctx.url.searchParams.get("q") ?? "";
    if (CONTROL.test(q)) {
      throw new ApiError("bad_request", 400, "A control character in q", { fields: ["q"] });
    }
    const found = await findActor(ctx.api, q);
    if ("go" in found) {
      const to = circlesPath(found.go);
      return new Response(null, { status: 303, headers: { location: to } });
    }
    if (!found.term) return new Response(null, { status: 303, headers: { location: "/" } });
    return ctx.render(found, { headers: { "cache-control": "no-store" } });
  },
};

export default function SearchPage({ data, state: { t } }: PageProps<Data>) {
  const { choose, term } = data;
  const heading = choose.length ? t.searchMany.replace("{term}", term) : t.searchNone;
  return (
    <section class="search-results">
      <Head>
        <title>{`${heading} · ${t.siteName}`}</title>
        <meta name="robots" content="noindex" />
      </Head>
      <h1>{heading}</h1>
      {choose.length > 0 && (
        <ul class="people-list" data-results={choose.length}>
          {choose.map((p) => (
            <li key={p.did}>
              <a href={circlesPath(p.handle)} class="who">
                {p.avatar
                  ? <img src={p.avatar} alt="" width={32} height={32} />
                  : <span class="avatar-none" aria-hidden="true" />}
                <PersonName p={p} />
              </a>
            </li>
          ))}
        </ul>
      )}
      <SearchBox t={t} value={term} />
    </section>
  );
}
