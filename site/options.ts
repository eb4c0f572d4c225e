/**
 * The circles' options as they travel in page URLs (the share link) and on to the API.
 * A value that is missing or not valid takes its default, so an old or edited link still
 * shows a page.
 */
import { isValidDid, isValidHandle } from "@bsky/shared/syntax";

export const DIRECTIONS = ["both", "sent", "received", "mutual"] as const;
export const WINDOWS = ["24h", "7d", "30d"] as const;

export interface CircleOptions {
  rings: 1 | 2 | 3;
  direction: typeof DIRECTIONS[number];
  window: typeof WINDOWS[number];
  /** "rrggbb", without the #. */
  bg: string;
  border: string;
  date: boolean;
  /** Names written under the avatars. */
  names: boolean;
}

export const DEFAULT_OPTIONS: CircleOptions = {
  rings: 3,
  direction: "both",
  window: "30d",
  bg: "0f172a",
  border: "38bdf8",
  date: true,
  names: false,
};

/** Colour presets for the picture: a background and a border that read well together. */
export const THEMES = {
  night: { bg: "0f172a", border: "38bdf8" },
  day: { bg: "ffffff", border: "0550ae" },
  sky: { bg: "1185fe", border: "ffffff" },
  dusk: { bg: "2e1065", border: "fbbf24" },
} as const;

const colour = (raw: string | null, fallback: string) => {
  const c = raw?.replace(/^#/, "").toLowerCase();
  return c && /^[0-9a-f]{6}$/.test(c) ? c : fallback;
};

export function parseOptions(params: URLSearchParams): CircleOptions {
  const d = DEFAULT_OPTIONS;
  const rings = Number(params.get("rings"));
  const direction = params.get("direction") as CircleOptions["direction"];
  const window = params.get("window") as CircleOptions["window"];
  const date = params.get("date");
  const names = params.get("names");
  return {
    rings: rings === 1 || rings === 2 || rings === 3 ? rings : d.rings,
    direction: DIRECTIONS.includes(direction) ? direction : d.direction,
    window: WINDOWS.includes(window) ? window : d.window,
    bg: colour(params.get("bg"), d.bg),
    border: colour(params.get("border"), d.border),
    // An unchecked box sends nothing, so the form also sends date=0 from a hidden field.
    date: date === null ? d.date : params.getAll("date").includes("1") || date === "true",
    names: names === null ? d.names : params.getAll("names").includes("1") || names === "true",
  };
}

/** The options that differ from the defaults, as a query string (the share link's). */
export function shareQuery(o: CircleOptions): string {
  const q = new URLSearchParams();
  for (const key of Object.keys(DEFAULT_OPTIONS) as (keyof CircleOptions)[]) {
    if (o[key] !== DEFAULT_OPTIONS[key]) {
      q.set(key, typeof o[key] === "boolean" ? (o[key] ? "1" : "0") : String(o[key]));
    }
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}

/** Every option, in the API's terms, for the circles endpoints. */
export function apiCirclesQuery(o: CircleOptions, extra: Record<string, string> = {}): string {
  return new URLSearchParams({
    rings: String(o.rings),
    direction: o.direction,
    window: o.window,
    bg: o.bg,
    border: o.border,
    date: String(o.date),
    // Left out when off, as the API's default, so existing image addresses stay the same.
    ...(o.names ? { names: "true" } : {}),
    ...extra,
  }).toString();
}

/**
 * Whether a cleaned actor can name an account at all (a handle or a DID by their syntax):
 * anything else is refused before the API is asked.
 */
export function isActor(actor: string): boolean {
  return isValidHandle(actor) || isValidDid(actor);
}

/** A handle or DID as typed: without "@", spaces or a profile URL around it. */
export function cleanActor(raw: string): string {
  let s = raw.trim();
  const fromUrl = s.match(/bsky\.app\/profile\/([^/?#\s]+)/);
  if (fromUrl) s = fromUrl[1];
  s = s.replace(/^@/, "");
  return s.startsWith("did:") ? s : s.toLowerCase();
}
