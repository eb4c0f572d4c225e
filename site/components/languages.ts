/** Languages by the names people know them by, in the page's language. */
import { LANG } from "@bsky/shared/langs";

const names = new Map<string, Intl.DisplayNames>();

/**
 * The name of a language (a primary subtag) in `ui`'s language: "Portuguese", "português"
 * (first letter capitalised); its code when the name is unknown or the code is no subtag.
 */
export function languageName(lang: string, ui: string): string {
  if (!LANG.test(lang)) return lang;
  const locale = ui === "pt" ? "pt-BR" : "en";
  let dn = names.get(locale);
  if (!dn) names.set(locale, dn = new Intl.DisplayNames([locale], { type: "language" }));
  let name: string | undefined;
  try {
    name = dn.of(lang);
  } catch {
    name = undefined;
  }
  if (!name || name === lang) return lang;
  return name.charAt(0).toLocaleUpperCase(locale) + name.slice(1);
}

/** A share as people read it: "61 %", "0.4 %", "< 0.1 %". */
export function formatShare(share: number, ui: string): string {
  const locale = ui === "pt" ? "pt-BR" : "en";
  const pct = share * 100;
  if (pct > 0 && pct < 0.1) return `< ${(0.1).toLocaleString(locale)} %`;
  const digits = pct < 10 ? 1 : 0;
  return `${pct.toLocaleString(locale, { maximumFractionDigits: digits })} %`;
}
