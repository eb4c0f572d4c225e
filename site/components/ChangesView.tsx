import type { z } from "zod";
import type * as api from "@bsky/fart/schemas";
import type { Dict, Lang } from "../i18n.ts";
import { Avatar, PersonName } from "./PersonName.tsx";
import { periodLabel } from "./periods.ts";
import { circlesPath } from "./paths.ts";

export type ChangesAnswer = z.infer<typeof api.changesAnswer>;

interface Props {
  /** The API's answer, or undefined when the period before is not kept. */
  changes?: ChangesAnswer;
  /** The window or period asked for: `7d`, `week:2026-W47`. */
  window: string;
  t: Dict;
  lang: Lang;
}

type Person = ChangesAnswer["joined"][number] | ChangesAnswer["moved"][number];

/** The heading: since the previous week or month, or the same hours before. */
export function changesHeading(window: string, t: Dict): string {
  const kind = window.split(":")[0];
  return t.changesSince[kind] ?? t.changesSince[window] ?? t.changesSince["7d"];
}

function People({ people, note }: { people: Person[]; note: (p: Person) => string }) {
  return (
    <ul class="change-list">
      {people.map((p) => (
        <li key={p.did} data-did={p.did}>
          <Avatar p={p} size={28} />
          <a href={circlesPath(p.handle ?? p.did)}>
            <PersonName p={p} />
          </a>
          <span class="ring-note">{note(p)}</span>
        </li>
      ))}
    </ul>
  );
}

/**
 * Who joined the circles, who left and who moved rings since the previous period, as the
 * API compares them: server-rendered, so it reads the same with or without JavaScript.
 */
export function ChangesView({ changes, window, t, lang }: Props) {
  const heading = changesHeading(window, t);
  if (!changes) {
    return (
      <section class="changes" aria-labelledby="changes-title">
        <h2 id="changes-title">{heading}</h2>
        <p class="empty">{t.changesUnavailable}</p>
      </section>
    );
  }
  const { previous, joined, left, moved, stayed } = changes;
  const before = periodLabel(previous.window, lang) ??
    `${previous.from.slice(0, 16).replace("T", " ")} – ${
      previous.to.slice(0, 16).replace("T", " ")
    } UTC`;
  const lists: [string, string, Person[], (p: Person) => string][] = [
    ["joined", t.joined, joined, (p) => t.ringN((p as { ring: number }).ring)],
    ["left", t.left, left, (p) => t.ringN((p as { ring: number }).ring)],
    ["moved", t.movedRings, moved, (p) => {
      const m = p as ChangesAnswer["moved"][number];
      return t.ringMove(m.from, m.to);
    }],
  ];
  return (
    <section class="changes" aria-labelledby="changes-title">
      <h2 id="changes-title">{heading}</h2>
      <p class="compared">{t.comparedWith} {before}.</p>
      {lists.map(([id, title, people, note]) =>
        people.length > 0 && (
          <div key={id} class="change-group" data-change={id}>
            <h3>
              {title} ({people.length})
            </h3>
            <People people={people} note={note} />
          </div>
        )
      )}
      {joined.length + left.length + moved.length === 0 && <p class="empty">{t.noChanges}</p>}
      <p class="stayed">{t.stayed(stayed)}</p>
    </section>
  );
}
