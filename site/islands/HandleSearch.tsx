import { useEffect, useRef, useState } from "preact/hooks";
import { circlesPath } from "../components/paths.ts";

interface Found {
  handle: string;
  displayName: string | null;
  avatar: string | null;
}

interface Props {
  label: string;
  placeholder: string;
  button: string;
  none: string;
  /** "n results" in the page's language, with {n} for the number. */
  results: string;
  /** What the box starts with (the results page keeps what was typed). */
  value?: string;
}

/**
 * The handle box: a plain GET form to /search, and with JavaScript a typeahead (an ARIA
 * combobox: arrows move, Enter opens, Escape closes) over the API's handle search.
 */
export default function HandleSearch(
  { label, placeholder, button, none, results, value = "" }: Props,
) {
  const [q, setQ] = useState(value);
  const [items, setItems] = useState<Found[]>([]);
  const [active, setActive] = useState(-1);
  const [open, setOpen] = useState(false);
  const abort = useRef<AbortController>();
  const typed = useRef(false);

  useEffect(() => {
    // What the page was given is no question yet: the list opens once the visitor types.
    if (!typed.current) return;
    const term = q.trim().replace(/^@/, "");
    if (!/^[a-zA-Z0-9.-]{1,64}$/.test(term)) {
      setItems([]);
      setOpen(false);
      return;
    }
    const timer = setTimeout(async () => {
      abort.current?.abort();
      abort.current = new AbortController();
      try {
        const res = await fetch(`/api/search?q=${encodeURIComponent(term)}`, {
          signal: abort.current.signal,
        });
        const body = await res.json() as { items: Found[] };
        setItems(body.items);
        setActive(-1);
        setOpen(true);
      } catch { /* a newer keystroke took over, or the network is gone: keep the form */ }
    }, 120);
    return () => clearTimeout(timer);
  }, [q]);

  const go = (item: Found) => {
    location.href = circlesPath(item.handle);
  };
  const onKey = (e: KeyboardEvent) => {
    if (!open || items.length === 0) return;
    // Enter on what was typed, when the list offers exactly one account, opens that one.
    if (e.key === "Enter" && active < 0 && items.length === 1) {
      e.preventDefault();
      go(items[0]);
      return;
    }
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      if (e.key === "ArrowDown") setActive(active + 1 >= items.length ? 0 : active + 1);
      else setActive(active <= 0 ? items.length - 1 : active - 1);
    } else if (e.key === "Enter" && active >= 0 && active < items.length) {
      e.preventDefault();
      go(items[active]);
    } else if (e.key === "Escape") {
      setOpen(false);
      setActive(-1);
    }
  };
  const shown = open && q.trim() !== "";
  return (
    <form action="/search" method="get" role="search" class="search">
      <label for="q">{label}</label>
      <div class="combo">
        <input
          id="q"
          name="q"
          type="text"
          inputMode="url"
          required
          autoComplete="off"
          autoCapitalize="none"
          spellcheck={false}
          placeholder={placeholder}
          role="combobox"
          aria-autocomplete="list"
          aria-controls="q-list"
          aria-expanded={shown && items.length > 0}
          aria-activedescendant={active >= 0 && active < items.length
            ? `q-opt-${active}`
            : undefined}
          value={q}
          onInput={(e) => {
            typed.current = true;
            setQ((e.target as HTMLInputElement).value);
          }}
          onKeyDown={onKey}
          onBlur={() => setTimeout(() => setOpen(false), 150)}
        />
        <button type="submit">{button}</button>
        <ul id="q-list" role="listbox" aria-label={label} hidden={!shown || items.length === 0}>
          {items.map((item, i) => (
            <li
              key={item.handle}
              id={`q-opt-${i}`}
              role="option"
              aria-selected={i === active}
              class={i === active ? "active" : undefined}
              onMouseDown={(e) => {
                e.preventDefault();
                go(item);
              }}
            >
              {item.avatar
                ? <img src={item.avatar} alt="" width={28} height={28} />
                : <span class="avatar-none" aria-hidden="true" />}
              <span class="who">
                {item.displayName && <strong>{item.displayName}</strong>}
                <span>@{item.handle}</span>
              </span>
            </li>
          ))}
        </ul>
      </div>
      {/* The count is for screen readers; that nothing matches is for everyone. */}
      <p class={shown && items.length === 0 ? "search-none" : "sr-only"} aria-live="polite">
        {shown ? (items.length ? results.replace("{n}", String(items.length)) : none) : ""}
      </p>
    </form>
  );
}
