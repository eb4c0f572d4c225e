import type { Dict } from "../i18n.ts";
import type { PersonRow } from "./circles.ts";
import { Avatar, PersonName } from "./PersonName.tsx";
import { circlesPath } from "./paths.ts";

/** Everyone in the image with what they did, in the image's order. */
export function PeopleTable({ rows, t }: { rows: PersonRow[]; t: Dict }) {
  if (rows.length === 0) return <p class="empty">{t.nobody}</p>;
  return (
    <div class="table-wrap" tabIndex={0} role="region" aria-labelledby="people-caption">
      <table id="people" class="people">
        <caption id="people-caption">{t.people}</caption>
        <thead>
          <tr>
            <th scope="col">#</th>
            <th scope="col">{t.person}</th>
            <th scope="col">{t.ring}</th>
            <th scope="col" class="num">{t.likes}</th>
            <th scope="col" class="num">{t.reposts}</th>
            <th scope="col" class="num">{t.replies}</th>
            <th scope="col" class="num">{t.quotes}</th>
            <th scope="col" class="num">{t.mentions}</th>
            <th scope="col" class="num">{t.score}</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r, i) => (
            <tr key={r.did} data-did={r.did} data-handle={r.handle ?? ""}>
              <td>{i + 1}</td>
              <th scope="row" class="who">
                <Avatar p={r} size={28} />
                <a href={circlesPath(r.handle ?? r.did)}>
                  <PersonName p={r} />
                </a>
              </th>
              <td>{r.ring}</td>
              <td class="num" data-col="like">{r.like}</td>
              <td class="num" data-col="repost">{r.repost}</td>
              <td class="num" data-col="reply">{r.reply}</td>
              <td class="num" data-col="quote">{r.quote}</td>
              <td class="num" data-col="mention">{r.mention}</td>
              <td class="num" data-col="score">{r.score}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
