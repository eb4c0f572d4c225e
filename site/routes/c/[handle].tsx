import { ApiError } from "../../api.ts";
import { apiMeta } from "../../api/meta.ts";
import CircleActions from "../../islands/CircleActions.tsx";
import CircleOptionsForm from "../../islands/CircleOptions.tsx";
import { CircleFigure } from "../../components/CircleFigure.tsx";
import { PeopleTable } from "../../components/PeopleTable.tsx";
import { type ChangesAnswer, ChangesView } from "../../components/ChangesView.tsx";
import {
  type PeriodChoice,
  periodChoices,
  periodLabel,
  previousKept,
} from "../../components/periods.ts";
import {
  altText,
  type CirclesAnswer,
  type InteractionsAnswer,
  peopleRows,
} from "../../components/circles.ts";
import { personLabel } from "../../components/profile.ts";
import { circlesPost, composeHref } from "../../components/share.ts";
import { BARE_NAME } from "../../components/find_actor.ts";
import { displayText, HANDLE_TEXT } from "@bsky/shared/display_text";
import { dateRange } from "@bsky/fart/circles_picture";
import {
  apiFilters,
  apiWindow,
  type CircleOptions,
  cleanActor,
  DEFAULT_OPTIONS,
  invalidOptions,
  isActor,
  parseOptions,
  shareQuery,
} from "../../options.ts";
import { Head } from "../../server/render.ts";
import { renderToString } from "preact-render-to-string";
import { madeOnce } from "../../components/made_once.ts";
import type { Handlers, PageProps } from "../../server/types.ts";
import { circlesPath } from "../../components/paths.ts";

interface Data {
  actor: string;
  options: CircleOptions;
  circles: CirclesAnswer;
  interactions: InteractionsAnswer;
  origin: string;
  /** What changed since the period before; undefined when that one is not kept. */
  changes?: ChangesAnswer;
  periods: { weeks: PeriodChoice[]; months: PeriodChoice[] };
  /** When the page was made: a week or month that has not ended is named as running. */
  now: number;
}

/** The circles' options: nothing else is taken. */
export const query = Object.keys(DEFAULT_OPTIONS);

export const handler: Handlers<Data> = {
  async GET(_req, ctx) {
    const actor = cleanActor(ctx.params.handle);
    if (!actor) return new Response(null, { status: 303, headers: { location: "/" } });
    // A bare name ("alice") is looked up the way the search box does it.
    if (BARE_NAME.test(actor)) {
      const to = `/search?q=${encodeURIComponent(actor)}`;
      return new Response(null, { status: 303, headers: { location: to } });
    }
    if (!isActor(actor)) throw new ApiError("bad_request", 400, `Not a handle or DID: "${actor}"`);
    const bad = invalidOptions(ctx.url.searchParams);
    if (bad.length) {
      throw new ApiError("bad_request", 400, `Not valid: ${bad.join(", ")}`, { fields: bad });
    }
    const options = parseOptions(ctx.url.searchParams);
    if (actor !== ctx.params.handle) {
      // One address per circles page: "@Alice.bsky.social" and "alice.bsky.social" alike.
      const to = `${circlesPath(actor)}${shareQuery(options)}`;
      return new Response(null, { status: 301, headers: { location: to } });
    }
    const who = encodeURIComponent(actor);
    const window = apiWindow(options);
    const filters = new URLSearchParams(apiFilters(options)).toString();
    const more = filters ? `&${filters}` : "";
    const layout = `rings=${options.rings}&direction=${options.direction}&window=${window}` +
      `&date=${options.date}${options.names ? "&names=true" : ""}${more}`;
    // The circles first: an account the API does not know costs these two calls only.
    let answers: [CirclesAnswer, InteractionsAnswer];
    try {
      answers = await Promise.all([
        ctx.api.json<CirclesAnswer>(`/v1/circles/${who}?${layout}`, { account: actor }),
        ctx.api.json<InteractionsAnswer>(
          `/v1/interactions/${who}?direction=${options.direction}&window=${window}&limit=100${more}`,
          { account: actor },
        ),
      ]);
    } catch (err) {
      // A week or month the API no longer keeps (an old link's), or not begun yet: the same
      // circles over the window instead.
      if (!(err instanceof ApiError && err.kind === "bad_request" && options.period)) throw err;
      const to = `${circlesPath(actor)}${shareQuery({ ...options, period: "" })}`;
      return new Response(null, { status: 303, headers: { location: to } });
    }
    const [circles, interactions] = answers;
    // The one moment of this page: which weeks and months are offered and which have ended.
    const now = Date.now();
    const retentionDays = (await apiMeta(ctx.api))?.retentionDays ?? 30;
    // What changed, when the span before is kept too (else there is nothing to compare with).
    const changes = previousKept(window, now, retentionDays)
      ? await ctx.api.json<ChangesAnswer>(
        `/v1/circles/${who}/changes?rings=${options.rings}&direction=${options.direction}` +
          `&window=${window}${more}`,
        { account: actor },
      ).catch((err) => {
        // At the edge of what is kept the API may see it otherwise.
        if (err instanceof ApiError && err.kind === "bad_request") return undefined;
        throw err;
      })
      : undefined;
    const origin = ctx.config.SITE_PUBLIC_URL || ctx.url.origin;
    const periods = periodChoices(now, retentionDays, ctx.state.lang);
    const offered = [...periods.weeks, ...periods.months].some((p) => p.value === options.period);
    if (options.period && !offered) {
      // Older than the picker lists, still kept: offered too, so the form keeps it.
      const label = periodLabel(options.period, ctx.state.lang, now)!;
      periods[options.period.startsWith("week") ? "weeks" : "months"].push({
        value: options.period,
        label,
      });
    }
    return ctx.render({
      actor,
      options,
      circles,
      interactions,
      origin,
      changes,
      periods,
      now,
    });
  },
};

export default function CirclesPage({ data, state }: PageProps<Data>) {
  const { t, lang } = state;
  const { actor, options, circles, interactions, origin, changes, periods, now } = data;
  const handle = displayText(circles.actor.handle, HANDLE_TEXT) || actor;
  const period = options.period ? periodLabel(options.period, lang, now) : undefined;
  // The figure, the table and the changes made once an answer (components/made_once.ts).
  const alt = madeOnce(
    [circles],
    `alt ${lang} ${period} ${options.window} ${options.direction}`,
    () => altText(circles, options, t, period),
  );
  const dates = dateRange(new Date(interactions.from), new Date(interactions.to));
  const figure = madeOnce(
    [circles],
    `figure ${JSON.stringify(options)} ${alt} ${dates}`,
    () =>
      renderToString(<CircleFigure circles={circles} options={options} alt={alt} dates={dates} />),
  );
  const table = madeOnce(
    [circles, interactions],
    `people ${lang}`,
    () => renderToString(<PeopleTable rows={peopleRows(circles, interactions)} t={t} />),
  );
  // One row for each person in the rings, as peopleRows makes them.
  const count = circles.rings.reduce((n, ring) => n + ring.people.length, 0);
  const window = apiWindow(options);
  const changed = changes &&
    madeOnce(
      [changes],
      `changes ${window} ${lang}`,
      () => renderToString(<ChangesView changes={changes} window={window} t={t} lang={lang} />),
    );
  const share = `${origin}${circlesPath(handle)}${shareQuery(options)}`;
  // In the page's own terms (a week or a month as `period`), which /img turns into the API's.
  const pngQuery = new URLSearchParams(shareQuery(options));
  pngQuery.set("width", "1200");
  const png = `/img/${encodeURIComponent(handle)}.png?${pngQuery}`;
  const title = `${t.circlesOf} @${handle}`;
  // A new post on Bluesky with the page's link and the inner ring's handles, to tag them.
  const inner = (circles.rings[0]?.people ?? [])
    .map((p) => displayText(p.handle, HANDLE_TEXT))
    .filter((h) => h !== "");
  const compose = composeHref(
    circlesPost(title, share, inner, undefined, `${origin}${circlesPath(handle)}`),
  );
  const windowName = period ?? { "24h": t.w24h, "7d": t.w7d, "30d": t.w30d }[options.window];
  const status = `${t.people}: ${count} · ${t[options.direction]} · ${windowName}`;
  return (
    <div class="circles-page">
      <Head>
        <title>{`${title} · ${t.siteName}`}</title>
        <meta name="description" content={alt} />
        <link rel="canonical" href={share} />
        <meta property="og:type" content="website" />
        <meta property="og:title" content={title} />
        <meta property="og:description" content={alt} />
        <meta property="og:url" content={share} />
        <meta property="og:image" content={`${origin}${png}`} />
        <meta property="og:image:type" content="image/png" />
        <meta property="og:image:width" content="1200" />
        <meta property="og:image:height" content="1200" />
        <meta property="og:image:alt" content={alt} />
        <meta name="twitter:card" content="summary_large_image" />
      </Head>
      <h1>
        {t.circlesOf} <span class="handle">{personLabel(circles.actor)}</span>
      </h1>
      <p class="blocks-link">
        <a href={`${circlesPath(handle)}/blocks`}>{t.blocksLink}</a>
      </p>
      <div class="circles-layout">
        <div class="picture">
          <div id="result" data-swap aria-busy="false">
            {/* The dates are drawn in the picture when asked for, and only there. */}
            <figure class="figure" dangerouslySetInnerHTML={{ __html: figure }} />
          </div>
          {/* A short line read out after each change, rather than the whole picture. */}
          <p id="circles-status" class="status-line" role="status" data-swap>{status}</p>
          {changed
            ? <div id="circle-changes" data-swap dangerouslySetInnerHTML={{ __html: changed }} />
            : (
              <div id="circle-changes" data-swap>
                <ChangesView changes={changes} window={window} t={t} lang={lang} />
              </div>
            )}
        </div>
        <aside class="side">
          <CircleOptionsForm
            handle={handle}
            options={options}
            periods={periods}
            labels={{
              options: t.options,
              rings: t.rings,
              direction: t.direction,
              sent: t.sent,
              received: t.received,
              both: t.both,
              mutual: t.mutual,
              window: t.window,
              w24h: t.w24h,
              w7d: t.w7d,
              w30d: t.w30d,
              background: t.background,
              border: t.border,
              themes: t.themes,
              night: t.night,
              day: t.day,
              sky: t.sky,
              dusk: t.dusk,
              contrast: t.contrast,
              navy: t.navy,
              lowContrast: t.lowContrast,
              showDate: t.showDate,
              showNames: t.showNames,
              apply: t.apply,
              period: t.period,
              periodNone: t.periodNone,
              periodNote: t.periodNote,
              weeks: t.weeks,
              months: t.months,
              leaveOut: t.leaveOut,
              excludeLabel: t.excludeLabel,
              mutualFollows: t.mutualFollows,
              mutualsAll: t.mutualsAll,
              mutualsOnly: t.mutualsOnly,
              mutualsNone: t.mutualsNone,
              botsHide: t.botsHide,
            }}
          />
          <div id="circle-links" class="links" data-swap>
            <p class="actions">
              <a
                id="download-png"
                class="button"
                href={png}
                download={`circles-${handle}.png`}
              >
                {t.downloadPng}
              </a>
              <a id="compose-post" class="button" href={compose}>
                {t.postOnBluesky}
              </a>
            </p>
            <p class="share">
              <label for="share-url">{t.share}</label>
              <input id="share-url" type="text" readOnly value={share} />
            </p>
          </div>
          <CircleActions
            share={t.shareSheet}
            shared={t.shared}
            copyLink={t.copyLink}
            copyImage={t.copyImage}
            copyHandles={t.copyHandles}
            copied={t.copied}
            copyFailed={t.copyFailed}
          />
        </aside>
        <details class="people-details" open>
          <summary>
            <span>
              {t.people} (<span id="people-count" data-swap>{count}</span>)
            </span>
          </summary>
          <div id="people-body" data-swap dangerouslySetInnerHTML={{ __html: table }} />
        </details>
      </div>
    </div>
  );
}
