/**
 * The weeks and months the circles page offers, and their names in each language: ISO
 * weeks and calendar months in UTC, as the API counts them (store/periods.ts).
 */
import { parsePeriod, type Period, previousPeriod, recentPeriods } from "@bsky/store/periods";
import type { Lang } from "../i18n.ts";

const DAY_MS = 86_400_000;
/** Most weeks and months offered, newest first. */
const MAX_WEEKS = 8, MAX_MONTHS = 6;

export interface PeriodChoice {
  value: string;
  label: string;
}

const LOCALES: Record<Lang, string> = { en: "en-GB", pt: "pt-BR" };

/** Made once per language: a formatter takes longer to make than a page to render. */
const FORMATS = Object.fromEntries(
  (Object.keys(LOCALES) as Lang[]).map((lang) => {
    const opts = (o: Intl.DateTimeFormatOptions) =>
      new Intl.DateTimeFormat(LOCALES[lang], { timeZone: "UTC", ...o });
    return [lang, {
      day: opts({ day: "numeric", month: "short" }),
      dayYear: opts({ day: "numeric", month: "short", year: "numeric" }),
      month: opts({ month: "long", year: "numeric" }),
    }];
  }),
) as Record<Lang, Record<"day" | "dayYear" | "month", Intl.DateTimeFormat>>;

const WORDS: Record<Lang, { week: string; soFar: string }> = {
  en: { week: "Week", soFar: "so far" },
  pt: { week: "Semana", soFar: "até agora" },
};

/**
 * A period by name for people: "Week 47: 16 Nov – 22 Nov 2026", "November 2026", with
 * "so far" while it runs at `now`. Undefined for a name that is no period.
 */
export function periodLabel(name: string, lang: Lang, now?: number): string | undefined {
  const p = parsePeriod(name);
  return p && labelOf(p, lang, now);
}

function labelOf(p: Period, lang: Lang, now?: number): string {
  const f = FORMATS[lang], w = WORDS[lang];
  const running = now !== undefined && p.end > now ? ` (${w.soFar})` : "";
  if (p.kind === "month") return f.month.format(p.start) + running;
  const n = Number(p.name.slice(-2));
  return `${w.week} ${n}: ${f.day.format(p.start)} – ${f.dayYear.format(p.end - DAY_MS)}${running}`;
}

type Choices = { weeks: PeriodChoice[]; months: PeriodChoice[] };

/** The choices of the current hour, by language and retention: they change once an hour. */
const made = new Map<string, Choices>();

/**
 * The weeks and months that have started by `now` and start within the retention (the
 * API refuses the others), newest first, with their names. Callers may change the lists
 * they get.
 */
export function periodChoices(now: number, retentionDays: number, lang: Lang): Choices {
  const key = `${lang} ${retentionDays} ${Math.floor(now / 3_600_000)}`;
  let choices = made.get(key);
  if (!choices) {
    // Only this hour's are worth keeping.
    if (made.size >= 8) made.clear();
    made.set(key, choices = makeChoices(now, retentionDays, lang));
  }
  return { weeks: [...choices.weeks], months: [...choices.months] };
}

function makeChoices(now: number, retentionDays: number, lang: Lang): Choices {
  // An hour's margin: the API checks at its own moment, a little later.
  const earliest = now - retentionDays * DAY_MS + 3_600_000;
  const choice = (p: Period) => ({ value: p.name, label: labelOf(p, lang, now) });
  return {
    weeks: recentPeriods("week", now, earliest, MAX_WEEKS).map(choice),
    months: recentPeriods("month", now, earliest, MAX_MONTHS).map(choice),
  };
}

/**
 * Whether the span before `window` (a rolling window such as "7d", or a period's name) is
 * kept at `now`, so that the API can say what changed since: the week or month before a
 * period, as many hours before a rolling window. With the same hour's margin as above.
 */
export function previousKept(window: string, now: number, retentionDays: number): boolean {
  const earliest = now - retentionDays * DAY_MS + 3_600_000;
  const period = parsePeriod(window);
  if (period) return previousPeriod(period).start >= earliest;
  const m = /^(\d+)([hd])$/.exec(window);
  if (!m) return false;
  const hours = Number(m[1]) * (m[2] === "d" ? 24 : 1);
  const end = (Math.floor(now / 3_600_000) + 1) * 3_600_000;
  return end - 2 * hours * 3_600_000 >= earliest;
}
