/**
 * Everything the bot writes, in English and Portuguese: the replies, their links, and the
 * alt text of the circles image. Names from the network pass through the shared sanitizer
 * (shared/display_text.ts), and every text is checked to fit a post.
 */
import { displayText, HANDLE_TEXT } from "@bsky/shared/display_text";
import { isValidHandle } from "@bsky/shared/syntax";
import type { CirclesOptions, Direction, Lang, Window } from "./command.ts";
import { fitsPost, graphemes, type Piece } from "./richtext.ts";

/** The image lexicon sets no limit on alt text; the Bluesky app keeps it to 2,000 characters. */
export const ALT_MAX_GRAPHEMES = 2000;

/** Someone in a picture or a list, as the API describes them. */
export interface Person {
  did: string;
  handle?: string | null;
  displayName?: string | null;
}

const PERIOD: Record<Lang, Record<Window, string>> = {
  en: {
    "24h": "over the last 24 hours",
    "7d": "over the last 7 days",
    "30d": "over the last 30 days",
  },
  pt: {
    "24h": "nas últimas 24 horas",
    "7d": "nos últimos 7 dias",
    "30d": "nos últimos 30 dias",
  },
};

const DIRECTION: Record<Lang, Record<Direction, string>> = {
  en: {
    both: "sent and received",
    sent: "sent",
    received: "received",
    mutual: "mutual",
  },
  pt: {
    both: "enviadas e recebidas",
    sent: "enviadas",
    received: "recebidas",
    mutual: "mútuas",
  },
};

const RINGS: Record<Lang, string[]> = {
  en: ["Inner ring", "Second ring", "Third ring"],
  pt: ["Anel interno", "Segundo anel", "Terceiro anel"],
};

/** A person's name for alt text and lists: the handle, else the display name. */
export function nameOf(p: Person, lang: Lang): string {
  if (isValidHandle(p.handle)) return `@${displayText(p.handle, HANDLE_TEXT)}`;
  const name = displayText(p.displayName);
  return name ||
    (lang === "pt" ? "uma conta sem nome" : "an account without a name");
}

function checked(text: string): string {
  if (!fitsPost(text)) {
    throw new RangeError(`Reply too long: ${graphemes(text)} graphemes`);
  }
  return text;
}

/** The page of these circles on the site, with the same options. */
export function siteLink(
  siteUrl: string,
  who: Person,
  o: CirclesOptions,
): string {
  const actor = isValidHandle(who.handle) ? who.handle.toLowerCase() : who.did;
  const query = new URLSearchParams({
    rings: String(o.rings),
    direction: o.direction,
    window: o.window,
  });
  return `${siteUrl}/c/${encodeURIComponent(actor)}?${query}`;
}

/** The text of a reply with the circles image, its link to the site as a facet. */
export function circlesReply(
  lang: Lang,
  o: CirclesOptions,
  link: string,
): Piece[] {
  const pieces: Piece[] = lang === "pt"
    ? [
      `Seus círculos de interação ${PERIOD.pt[o.window]} (${DIRECTION.pt[o.direction]}). `,
      { text: "Veja no site", link },
    ]
    : [
      `Your interaction circles ${PERIOD.en[o.window]} (${DIRECTION.en[o.direction]}). `,
      { text: "See them on the site", link },
    ];
  checked(pieces.map((p) => typeof p === "string" ? p : p.text).join(""));
  return pieces;
}

/** Alt text naming everyone in the picture, ring by ring, from the inside out. */
export function altText(
  lang: Lang,
  owner: Person,
  o: CirclesOptions,
  rings: readonly (readonly Person[])[],
): string {
  const head = lang === "pt"
    ? `Círculos de interação de ${nameOf(owner, lang)} ${PERIOD.pt[o.window]} (${
      DIRECTION.pt[o.direction]
    }).`
    : `Interaction circles of ${nameOf(owner, lang)} ${PERIOD.en[o.window]} (${
      DIRECTION.en[o.direction]
    }).`;
  const parts = [head];
  rings.forEach((people, i) => {
    if (people.length === 0) return;
    parts.push(
      `${RINGS[lang][i] ?? RINGS[lang][2]}: ${people.map((p) => nameOf(p, lang)).join(", ")}.`,
    );
  });
  const alt = parts.join(" ");
  if (graphemes(alt) <= ALT_MAX_GRAPHEMES) return alt;
  // Names are at most a few hundred characters each, so this is rare: cut between names.
  const more = lang === "pt" ? " …e outras pessoas." : " …and more people.";
  let cut = alt.slice(0, ALT_MAX_GRAPHEMES - more.length);
  cut = cut.slice(0, Math.max(cut.lastIndexOf(", "), head.length));
  while (graphemes(cut + more) > ALT_MAX_GRAPHEMES) cut = cut.slice(0, -1);
  return cut + more;
}

/** For an account without interactions in the window: a kind word instead of empty rings. */
export function noDataReply(lang: Lang, window: Window): string {
  return checked(
    lang === "pt"
      ? `Ainda não encontrei interações suas ${PERIOD.pt[window]}. Curta, responda, reposte ` +
        "ou cite alguém e peça de novo mais tarde! 💙"
      : `I found no interactions of yours ${PERIOD.en[window]} yet. Like, reply to, repost ` +
        "or quote someone, then ask me again later! 💙",
  );
}

/** The one answer to a request made during the cooldown. */
export function cooldownReply(lang: Lang, minutes: number): string {
  const n = Math.max(1, Math.ceil(minutes));
  return checked(
    lang === "pt"
      ? `Você pediu há pouco: tente de novo em ${n} ${n === 1 ? "minuto" : "minutos"}.`
      : `You asked a moment ago: try again in ${n} ${n === 1 ? "minute" : "minutes"}.`,
  );
}

export function helpReply(lang: Lang): string {
  return checked(
    lang === "pt"
      ? 'Mencione-me com "bolas" ou "círculos" para ver as pessoas com quem você mais ' +
        "interage. Acrescente 24h, 7d ou 30d; enviadas, recebidas, ambos ou mútuos; rings 1 a " +
        '3. "top" mostra as contas mais curtidas das últimas 24 horas.'
      : 'Mention me with "circles" for a picture of the people you interact with most. Add ' +
        '24h, 7d or 30d; sent, received, both or mutual; rings 1 to 3. "top" gives the most ' +
        "liked accounts of the last 24 hours.",
  );
}

/** The 24-hour top list as lines, as many as fit in a post. */
export function topReply(
  lang: Lang,
  items: readonly (Person & { count: number })[],
): string {
  let text = lang === "pt"
    ? "Contas mais curtidas nas últimas 24 horas:"
    : "Most liked accounts over the last 24 hours:";
  let n = 0;
  for (const item of items) {
    if (n === 10) break;
    const line = `\n${n + 1}. ${nameOf(item, lang)} (${item.count.toLocaleString(lang)})`;
    if (!fitsPost(text + line)) break;
    text += line;
    n++;
  }
  if (n === 0) return topNotReadyReply(lang);
  return checked(text);
}

export function topNotReadyReply(lang: Lang): string {
  return checked(
    lang === "pt"
      ? "A lista ainda não está pronta: tente de novo em alguns minutos."
      : "The list is not ready yet: try again in a few minutes.",
  );
}
