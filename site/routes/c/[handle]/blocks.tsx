import type { z } from "zod";
import type * as api from "@bsky/fart/schemas";
import { displayText, HANDLE_TEXT } from "@bsky/shared/display_text";
import { ApiError } from "../../../api.ts";
import { Avatar, PersonName } from "../../../components/PersonName.tsx";
import { personLabel } from "../../../components/profile.ts";
import { cleanActor, isActor } from "../../../options.ts";
import { Head } from "../../../server/render.ts";
import type { Handlers, PageProps } from "../../../server/types.ts";
import { circlesPath } from "../../../components/paths.ts";

type BlocksAnswer = z.infer<typeof api.blocksAnswer>;
type Direction = BlocksAnswer["direction"];

const DIRECTIONS: readonly Direction[] = ["blocked-by", "blocking"];
/** A page's end as the API gives it. */
const CURSOR = /^[0-9a-z]{1,11}$/;
/** Accounts a page lists. */
const PAGE = 50;

interface Data {
  actor: string;
  direction: Direction;
  blocks: BlocksAnswer;
  /** Whether this is a later page (then a link back to the newest). */
  paged: boolean;
}

export const query = ["direction", "cursor"];

export const handler: Handlers<Data> = {
  async GET(_req, ctx) {
    const actor = cleanActor(ctx.params.handle);
    if (!isActor(actor)) throw new ApiError("bad_request", 400, `Not a handle or DID: "${actor}"`);
    const q = ctx.url.searchParams;
    const direction = DIRECTIONS.find((d) => d === (q.get("direction") ?? "blocked-by"));
    const cursor = q.get("cursor") ?? "";
    if (!direction || (cursor !== "" && !CURSOR.test(cursor))) {
      throw new ApiError("bad_request", 400, "Not a direction or a page of blocks");
    }
    if (actor !== ctx.params.handle) {
      const to = `${circlesPath(actor)}/blocks${ctx.url.search}`;
      return new Response(null, { status: 301, headers: { location: to } });
    }
    const blocks = await ctx.api.json<BlocksAnswer>(
      `/v1/blocks/${encodeURIComponent(actor)}?direction=${direction}&limit=${PAGE}` +
        (cursor ? `&cursor=${cursor}` : ""),
      { account: actor },
    );
    return ctx.render({ actor, direction, blocks, paged: cursor !== "" });
  },
};

/** "2026-05-01 14:07 UTC": the minute a block was made. */
const minuteOf = (iso: string) => `${iso.slice(0, 16).replace("T", " ")} UTC`;

export default function BlocksPage({ data, state: { t } }: PageProps<Data>) {
  const { actor, direction, blocks, paged } = data;
  const handle = displayText(blocks.actor.handle, HANDLE_TEXT) || actor;
  const base = `${circlesPath(handle)}/blocks`;
  const href = (d: Direction, cursor?: string | null) =>
    `${base}?direction=${d}${cursor ? `&cursor=${cursor}` : ""}`;
  const tabs: [Direction, string, number][] = [
    ["blocked-by", t.blockedBy, blocks.counts.blockedBy],
    ["blocking", t.blocking, blocks.counts.blocking],
  ];
  const title = `${t.blocksOf} @${handle}`;
  return (
    <section class="blocks-page">
      <Head>
        <title>{`${title} · ${t.siteName}`}</title>
        <meta name="robots" content="noindex" />
      </Head>
      <h1>
        {t.blocksOf} <span class="handle">{personLabel(blocks.actor)}</span>
      </h1>
      <p>
        <a href={circlesPath(handle)}>{t.backToCircles}</a>
      </p>
      <nav class="tabs" aria-label={t.blocksDirection}>
        <ul>
          {tabs.map(([d, label, count]) => (
            <li key={d}>
              <a href={href(d)} aria-current={d === direction ? "page" : undefined}>
                {label} (<span data-count={d}>{count.toLocaleString()}</span>)
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <p class="note">{t.blocksNote}</p>
      {blocks.items.length === 0 && !paged
        ? (
          <p class="empty" data-empty="blocks">
            {direction === "blocked-by" ? t.blocksNoneBy : t.blocksNoneOf}
          </p>
        )
        : (
          <ol class="toplist block-list" data-direction={direction}>
            {blocks.items.map((p) => (
              <li key={p.did} data-did={p.did}>
                <Avatar p={p} size={36} />
                <a href={circlesPath(p.handle ?? p.did)}>
                  <PersonName p={p} />
                </a>
                <span class="count">
                  <span class="sr-only">{t.blocksSince}</span>{" "}
                  <time dateTime={p.since}>{minuteOf(p.since)}</time>
                </span>
              </li>
            ))}
          </ol>
        )}
      {(paged || blocks.cursor) && (
        <nav class="pager" aria-label={t.blocksPages}>
          {paged && <a href={href(direction)} rel="first">{t.blocksNewest}</a>}
          {blocks.cursor && <a href={href(direction, blocks.cursor)} rel="next">{t.blocksOlder}</a>}
        </nav>
      )}
    </section>
  );
}
