import { useRef, useState } from "preact/hooks";
import {
  borderContrast,
  type CircleOptions,
  invalidOptions,
  MIN_BORDER_CONTRAST,
  parseOptions,
  shareQuery,
  THEMES,
} from "../options.ts";
import { circlesPath } from "../components/paths.ts";

/** A week or month the picker offers: its value in the address and its name. */
interface Choice {
  value: string;
  label: string;
}

/** How long arrow keys must rest on a choice before the page follows it, in ms. */
const STEP_WAIT_MS = 700;

interface Props {
  handle: string;
  options: CircleOptions;
  /** The weeks and months within the retention, newest first. */
  periods: { weeks: Choice[]; months: Choice[] };
  labels: Record<
    | "options"
    | "rings"
    | "direction"
    | "sent"
    | "received"
    | "both"
    | "mutual"
    | "window"
    | "w24h"
    | "w7d"
    | "w30d"
    | "background"
    | "border"
    | "themes"
    | keyof typeof THEMES
    | "showDate"
    | "showNames"
    | "apply"
    | "period"
    | "periodNone"
    | "periodNote"
    | "weeks"
    | "months"
    | "leaveOut"
    | "excludeLabel"
    | "mutualFollows"
    | "mutualsAll"
    | "mutualsOnly"
    | "mutualsNone"
    | "botsHide"
    | "lowContrast",
    string
  >;
}

/**
 * The circles' options: a plain GET form (Apply reloads the page with them), and with
 * JavaScript each change fetches the page for the new options and swaps its result in,
 * keeping the address (the share link) in step.
 */
export default function CircleOptionsForm({ handle, options, periods, labels: l }: Props) {
  const form = useRef<HTMLFormElement>(null);
  const [busy, setBusy] = useState(false);
  const latest = useRef(0);
  /** Whether the last change came from arrow keys walking a radio group. */
  const stepping = useRef(false);
  const pending = useRef<ReturnType<typeof setTimeout>>();
  const [colours, setColours] = useState({ bg: options.bg, border: options.border });
  /** The colour fields as they stand now, for the contrast note. */
  const noteColours = () => {
    const value = (n: string) =>
      (form.current!.elements.namedItem(n) as HTMLInputElement).value.replace(/^#/, "");
    setColours({ bg: value("bg"), border: value("border") });
  };
  const ratio = borderContrast(colours.bg, colours.border);
  const onChange = (e: Event) => {
    noteColours();
    // A window chosen with a period chosen: the window is what is wanted now.
    if ((e.target as HTMLInputElement).name === "window") {
      (form.current!.elements.namedItem("period") as HTMLSelectElement).value = "";
    }
    clearTimeout(pending.current);
    // Arrow keys pass every choice on the way to the one wanted: wait until they rest.
    if (stepping.current) pending.current = setTimeout(apply, STEP_WAIT_MS);
    else apply();
  };

  const apply = async () => {
    const data = new URLSearchParams(new FormData(form.current!) as unknown as string[][]);
    const page = circlesPath(handle);
    // What cannot be an option (an exclusion that names nobody) goes to the page as typed,
    // which says what is not valid.
    if (invalidOptions(data).length > 0) {
      location.href = `${page}?${data}`;
      return;
    }
    const url = `${page}${shareQuery(parseOptions(data))}`;
    const mine = ++latest.current;
    setBusy(true);
    const result = document.getElementById("result");
    result?.setAttribute("aria-busy", "true");
    try {
      const res = await fetch(url);
      const html = await res.text();
      if (mine !== latest.current) return;
      const doc = new DOMParser().parseFromString(html, "text/html");
      // The parts of the page that depend on the options (the picture, the table) are swapped
      // for the new page's; everything else, the form and its focus included, stays.
      const parts = [...document.querySelectorAll<HTMLElement>("[data-swap]")]
        .map((el) => [el, doc.getElementById(el.id)] as const);
      if (!res.ok || !result || parts.some(([, fresh]) => !fresh)) {
        location.href = url;
        return;
      }
      for (const [el, fresh] of parts) el.replaceChildren(...fresh!.childNodes);
      document.title = doc.title;
      history.replaceState(null, "", url);
    } catch {
      location.href = url;
    } finally {
      result?.setAttribute("aria-busy", "false");
      if (mine === latest.current) setBusy(false);
    }
  };
  const radio = (name: string, value: string, label: string, checked: boolean) => (
    <label class="choice" key={value}>
      <input type="radio" name={name} value={value} defaultChecked={checked} /> {label}
    </label>
  );
  return (
    <form
      ref={form}
      class="options"
      method="get"
      action={circlesPath(handle)}
      onChange={onChange}
      onKeyDown={(e) => {
        stepping.current = e.key.startsWith("Arrow");
      }}
      onPointerDown={() => {
        stepping.current = false;
      }}
      onSubmit={(e) => {
        e.preventDefault();
        clearTimeout(pending.current);
        apply();
      }}
      aria-busy={busy}
    >
      <h2>{l.options}</h2>
      <fieldset>
        <legend>{l.rings}</legend>
        {[1, 2, 3].map((n) => radio("rings", String(n), String(n), options.rings === n))}
      </fieldset>
      <fieldset>
        <legend>{l.direction}</legend>
        {(["both", "sent", "received", "mutual"] as const).map((d) =>
          radio("direction", d, l[d], options.direction === d)
        )}
      </fieldset>
      <fieldset>
        <legend>{l.window}</legend>
        {radio("window", "24h", l.w24h, options.window === "24h")}
        {radio("window", "7d", l.w7d, options.window === "7d")}
        {radio("window", "30d", l.w30d, options.window === "30d")}
        <label class="period-pick">
          {l.period}
          <select name="period" aria-describedby="period-note">
            <option value="" selected={!options.period}>{l.periodNone}</option>
            {([[l.weeks, periods.weeks], [l.months, periods.months]] as const).map((
              [label, choices],
            ) =>
              choices.length > 0 && (
                <optgroup key={label} label={label}>
                  {choices.map((c) => (
                    <option key={c.value} value={c.value} selected={c.value === options.period}>
                      {c.label}
                    </option>
                  ))}
                </optgroup>
              )
            )}
          </select>
        </label>
        <small id="period-note" class="note">{l.periodNote}</small>
      </fieldset>
      <fieldset class="leave-out">
        <legend>{l.leaveOut}</legend>
        <label class="exclude">
          {l.excludeLabel}
          <input
            type="text"
            name="exclude"
            defaultValue={options.exclude.replaceAll(",", ", ")}
            autoComplete="off"
            spellcheck={false}
          />
        </label>
        <fieldset>
          <legend>{l.mutualFollows}</legend>
          {radio("mutuals", "all", l.mutualsAll, options.mutuals === "all")}
          {radio("mutuals", "only", l.mutualsOnly, options.mutuals === "only")}
          {radio("mutuals", "none", l.mutualsNone, options.mutuals === "none")}
        </fieldset>
        <label class="choice">
          <input
            type="checkbox"
            name="bots"
            value="hide"
            defaultChecked={options.bots === "hide"}
          />{" "}
          {l.botsHide}
        </label>
      </fieldset>
      <fieldset class="colours" aria-label={`${l.background}, ${l.border}`}>
        <label>
          <input type="color" name="bg" defaultValue={`#${options.bg}`} /> {l.background}
        </label>
        <label>
          <input type="color" name="border" defaultValue={`#${options.border}`} /> {l.border}
        </label>
      </fieldset>
      <p class="contrast-note" role="status">
        {ratio < MIN_BORDER_CONTRAST ? l.lowContrast.replace("{ratio}", ratio.toFixed(1)) : ""}
      </p>
      <div class="themes" role="group" aria-label={l.themes}>
        {(Object.keys(THEMES) as (keyof typeof THEMES)[]).map((name) => {
          const { bg, border } = THEMES[name];
          return (
            <a
              key={name}
              class="theme"
              data-theme={name}
              aria-current={colours.bg === bg && colours.border === border ? "true" : undefined}
              href={`${circlesPath(handle)}${shareQuery({ ...options, bg, border })}`}
              onClick={(e) => {
                // With JavaScript the preset fills the colour fields; without, the link loads it.
                e.preventDefault();
                const field = (n: string) =>
                  form.current!.elements.namedItem(n) as HTMLInputElement;
                field("bg").value = `#${bg}`;
                field("border").value = `#${border}`;
                noteColours();
                clearTimeout(pending.current);
                apply();
              }}
            >
              <svg width="22" height="22" viewBox="0 0 22 22" aria-hidden="true">
                <circle
                  cx="11"
                  cy="11"
                  r="8"
                  fill={`#${bg}`}
                  stroke={`#${border}`}
                  stroke-width="3"
                />
              </svg>
              {l[name]}
            </a>
          );
        })}
      </div>
      <input type="hidden" name="date" value="0" />
      <label class="choice">
        <input type="checkbox" name="date" value="1" defaultChecked={options.date} /> {l.showDate}
      </label>
      <input type="hidden" name="names" value="0" />
      <label class="choice">
        <input type="checkbox" name="names" value="1" defaultChecked={options.names} />{" "}
        {l.showNames}
      </label>
      <p>
        <button type="submit">{l.apply}</button>
      </p>
    </form>
  );
}
