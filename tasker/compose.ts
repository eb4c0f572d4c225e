/**
 * What a reply says, by its plan's kind: the cooldown and help texts, the top list, or the
 * requester's circles as a picture (from the API, uploaded to the PDS as a blob) with its
 * alt text and a link to the site. The reply's language follows the mention.
 */
import { DEFAULT_OPTIONS, parseCommand, replyLanguage } from "./command.ts";
import type { ApiClient } from "./api.ts";
import type { Plan } from "./ledger.ts";
import type { Mention } from "./mention.ts";
import type { PdsSession } from "./pds.ts";
import type { Piece } from "./richtext.ts";
import {
  altText,
  circlesReply,
  cooldownReply,
  helpReply,
  noDataReply,
  siteLink,
  topNotReadyReply,
  topReply,
} from "./texts.ts";

export interface Composed {
  outcome: string;
  lang: string;
  pieces: Piece[];
  embed?: Record<string, unknown>;
}

export interface ComposeContext {
  api: ApiClient;
  pds: PdsSession;
  siteUrl: string;
  /** Marks the end of a step, for the log of where a reply's time goes. */
  lap: (step: string) => void;
  /** Tests only: holds after the picture is uploaded when asked to. */
  afterUpload: () => Promise<void>;
}

/** The reply to `m` by `plan`; "hidden" when the requester's circles are hidden. */
export async function composeReply(
  { api, pds, siteUrl, lap, afterUpload }: ComposeContext,
  m: Mention,
  plan: Plan,
): Promise<Composed | "hidden"> {
  const lang = replyLanguage(m.post.text, m.post.langs);
  const command = parseCommand(m.post.text);
  const options = command?.kind === "circles" ? command.options : DEFAULT_OPTIONS;
  switch (plan.kind) {
    case "cooldown":
      return { outcome: plan.kind, lang, pieces: [cooldownReply(lang, plan.minutes)] };
    case "help":
      return { outcome: plan.kind, lang, pieces: [helpReply(lang)] };
    case "top": {
      const items = await api.top();
      return {
        outcome: plan.kind,
        lang,
        pieces: [items ? topReply(lang, items) : topNotReadyReply(lang)],
      };
    }
    case "circles": {
      const circles = await api.circles(m.author, options);
      if (circles.kind === "hidden") return "hidden";
      const rings = circles.kind === "ok" ? circles.answer.rings.map((r) => r.people) : [];
      // Asking is a mention of the bot, an interaction: the bot alone is no data.
      const others = rings.flat().filter((p) => p.did !== pds.did);
      if (circles.kind !== "ok" || others.length === 0) {
        return { outcome: "no_data", lang, pieces: [noDataReply(lang, options.window)] };
      }
      const png = await api.circlesPng(m.author, options);
      lap("api");
      const image = await pds.uploadBlob(png.bytes, "image/png");
      lap("upload");
      await afterUpload();
      const embed = {
        $type: "app.bsky.embed.images",
        images: [{
          image,
          alt: altText(lang, circles.answer.actor, options, rings),
          aspectRatio: { width: png.width, height: png.height },
        }],
      };
      const pieces = circlesReply(
        lang,
        options,
        siteLink(siteUrl, circles.answer.actor, options),
      );
      return { outcome: plan.kind, lang, pieces, embed };
    }
    default:
      throw new TypeError(`Cannot reply: unknown plan "${plan.kind}"`);
  }
}
