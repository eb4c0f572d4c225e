import HandleSearch from "../islands/HandleSearch.tsx";
import { type Dict, textsAs } from "../i18n.ts";

/** The search form's texts by the names the form takes them by. */
const SEARCH_TEXTS = {
  label: "searchLabel",
  placeholder: "searchPlaceholder",
  button: "searchButton",
  none: "searchNone",
  results: "searchCount",
} as const;

/** The handle search form with its typeahead, in the visitor's language. */
export function SearchBox({ t, value }: { t: Dict; value?: string }) {
  return <HandleSearch {...textsAs(t, SEARCH_TEXTS)} value={value} />;
}
