/**
 * The circles' options as they travel in page URLs (the share link) and on to the API.
 * A value that is missing or not valid takes its default, so an old or edited link still
 * shows a page.
 */
import { contrast, rgb } from "@bsky/fart/colour";
import { isValidDid, isValidHandle } from "@bsky/shared/syntax";

export const DIRECTIONS = ["both", "sent", "received", "mutual"] as const;
export const WINDOWS = ["24h", "7d", "30d"] as const;
export const MUTUALS = ["all", "only", "none"] as const;
/** A week or month as the API names it (store/periods.ts): `week:2026-W47`, `month:2026-11`. */
export const PERIOD = /^(?:week:\d{4}-W\d{2}|month:\d{4}-\d{2})$/;
/** The most accounts the exclusions keep (as many as the API takes). */
export const MAX_EXCLUDE = 25;

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
  /** A past or running week or month instead of the window, or "". */
  period: string;
  /** Accounts left out: handles or DIDs, comma-separated, or "". */
  exclude: string;
  /** Only mutual follows, none of them, or all. */
  mutuals: typeof MUTUALS[number];
  /** "hide" leaves out accounts that act like bots. */
  bots: "show" | "hide";
}

export const DEFAULT_OPTIONS: CircleOptions = {
  rings: 3,
  direction: "both",
  window: "30d",
  bg: "0f172a",
  border: "38bdf8",
  date: true,
  names: false,
  period: "",
  exclude: "",
  mutuals: "all",
  bots: "show",
};

/** Colour presets for the picture: a background and a border that read well together. */
export const THEMES = {
  night: { bg: "0f172a", border: "38bdf8" },
  day: { bg: "ffffff", border: "0550ae" },
  sky: { bg: "1185fe", border: "ffffff" },
  dusk: { bg: "2e1065", border: "fbbf24" },
  contrast: { bg: "000000", border: "ffff00" },
  navy: { bg: "14213d", border: "fca311" },
} as const;

/** Below this contrast between the border and the background (WCAG's for graphics) the page says so. */
export const MIN_BORDER_CONTRAST = 3;

/** The contrast between a picture's border and background ("rrggbb" each), 1 to 21. */
export function borderContrast(bg: string, border: string): number {
  return contrast(rgb(`#${bg}`, "background"), rgb(`#${border}`, "border"));
}

/** A colour as the address may give it: six hex digits, with or without "#". */
const COLOUR = /^#?[0-9a-fA-F]{6}$/;

const colour = (raw: string | null, fallback: string) =>
  raw && COLOUR.test(raw) ? raw.replace(/^#/, "").toLowerCase() : fallback;

/**
 * The accounts to leave out as typed (commas or spaces between them, with or without @, a
 * profile URL), kept when they can name an account, at most MAX_EXCLUDE, in one spelling.
 */
export function cleanExclude(raw: string | null): string {
  const names = (raw ?? "").split(/[\s,]+/).map(cleanActor).filter(isActor);
  return [...new Set(names)].slice(0, MAX_EXCLUDE).join(",");
}

/** Control characters: no handle, name or choice has them, so an address that does is refused. */
export const CONTROL = /\p{Cc}/u;

/**
 * The options given in the address with a value none can be (an empty value is no choice):
 * the page answers 400 naming them rather than draw other circles than were asked for.
 * parseOptions() takes what is valid of the rest.
 */
export function invalidOptions(params: URLSearchParams): string[] {
  const bad = new Set<string>();
  const oneOf = (name: string, ok: (v: string) => boolean) => {
    for (const v of params.getAll(name)) if (v !== "" && !ok(v)) bad.add(name);
  };
  oneOf("rings", (v) => v === "1" || v === "2" || v === "3");
  oneOf("direction", (v) => (DIRECTIONS as readonly string[]).includes(v));
  oneOf("window", (v) => (WINDOWS as readonly string[]).includes(v));
  oneOf("bg", (v) => COLOUR.test(v));
  oneOf("border", (v) => COLOUR.test(v));
  oneOf("date", (v) => ["0", "1", "true", "false"].includes(v));
  oneOf("names", (v) => ["0", "1", "true", "false"].includes(v));
  oneOf("period", (v) => PERIOD.test(v));
  oneOf("mutuals", (v) => (MUTUALS as readonly string[]).includes(v));
  oneOf("bots", (v) => v === "hide" || v === "show");
  oneOf("exclude", (v) => v.split(/[\s,]+/).filter(Boolean).every((a) => isActor(cleanActor(a))));
  return [...bad];
}

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
    period: PERIOD.test(params.get("period") ?? "") ? params.get("period")! : d.period,
    exclude: cleanExclude(params.get("exclude")),
    mutuals: MUTUALS.find((m) => m === params.get("mutuals")) ?? d.mutuals,
    bots: params.get("bots") === "hide" ? "hide" : d.bots,
  };
}

/** What the API's `window` is for these options: the period when one is chosen. */
export const apiWindow = (o: CircleOptions): string => o.period || o.window;

/** The filters that differ from the API's defaults, as its parameters. */
export function apiFilters(o: CircleOptions): Record<string, string> {
  return {
    ...(o.exclude ? { exclude: o.exclude } : {}),
    ...(o.mutuals !== "all" ? { mutuals: o.mutuals } : {}),
    ...(o.bots === "hide" ? { bots: "hide" } : {}),
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
    window: apiWindow(o),
    bg: o.bg,
    border: o.border,
    date: String(o.date),
    // Left out when off, as the API's default, so existing image addresses stay the same.
    ...(o.names ? { names: "true" } : {}),
    ...apiFilters(o),
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
