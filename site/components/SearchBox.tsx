import HandleSearch from "../islands/HandleSearch.tsx";
import type { Dict } from "../i18n.ts";

/** The handle search form with its typeahead, in the visitor's language. */
export function SearchBox({ t, value }: { t: Dict; value?: string }) {
  return (
    <HandleSearch
      label={t.searchLabel}
      placeholder={t.searchPlaceholder}
      button={t.searchButton}
      none={t.searchNone}
      results={t.searchCount}
      value={value}
    />
  );
}
