import { useEffect, useState } from "preact/hooks";
import { formatLag, type LiveAnswer } from "../components/live.ts";
import { formatShare, languageName } from "../components/languages.ts";

interface Props {
  initial: LiveAnswer;
  lang: string;
  labels: Record<
    | "eventsPerSecond"
    | "lag"
    | "backlog"
    | "activeAccounts"
    | "byCollection"
    | "chart"
    | "postsByLanguage"
    | "postsByLanguageNote"
    | "noLanguages",
    string
  >;
  /** Collections and event kinds by the names people know them by. */
  names: Record<string, string>;
}

const POLL_MS = 2000;
const POINTS = 90;
const W = 600, H = 160, PAD = 4;

/**
 * The network's pulse: figures and a line of events per second, polled from /api/live
 * every two seconds while the tab is visible. A hand-drawn SVG: one polyline, a scale.
 */
export default function LiveChart({ initial, lang, labels: l, names }: Props) {
  const [live, setLive] = useState(initial);
  /** One point per reading: the API's answer is kept a few seconds, so polls repeat it. */
  const [history, setHistory] = useState<{ at: string; rate: number }[]>([
    { at: initial.now, rate: initial.eventsPerSecond ?? 0 },
  ]);

  useEffect(() => {
    let stopped = false;
    const tick = async () => {
      if (document.hidden) return;
      try {
        const res = await fetch("/api/live");
        if (!res.ok || stopped) return;
        const next = await res.json() as LiveAnswer;
        setLive(next);
        setHistory((h) =>
          h[h.length - 1]?.at === next.now
            ? h
            : [...h, { at: next.now, rate: next.eventsPerSecond ?? 0 }].slice(-POINTS)
        );
      } catch { /* keep the last figures until the next poll */ }
    };
    const timer = setInterval(tick, POLL_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, []);

  const locale = lang === "pt" ? "pt-BR" : "en";
  const fmt = (v: number | null, digits = 1) =>
    v === null ? "–" : v.toLocaleString(locale, { maximumFractionDigits: digits });
  const max = Math.max(1, ...history.map((p) => p.rate));
  const step = (W - 2 * PAD) / (POINTS - 1);
  const x0 = W - PAD - (history.length - 1) * step;
  const points = history.map(({ rate }, i) =>
    `${(x0 + i * step).toFixed(1)},${(H - PAD - (rate / max) * (H - 2 * PAD)).toFixed(1)}`
  ).join(" ");
  const collections = Object.entries(live.byCollection).sort((a, b) => b[1] - a[1]);
  const top = Math.max(1e-9, ...collections.map(([, v]) => v));
  return (
    <div class="live">
      <dl class="figures">
        <div>
          <dt>{l.eventsPerSecond}</dt>
          <dd data-figure="rate">{fmt(live.eventsPerSecond)}</dd>
        </div>
        <div>
          <dt>{l.lag}</dt>
          <dd data-figure="lag">{formatLag(live.lagSeconds, locale)}</dd>
        </div>
        <div>
          <dt>{l.backlog}</dt>
          <dd data-figure="backlog">{fmt(live.indexerBacklog, 0)}</dd>
        </div>
        <div>
          <dt>{l.activeAccounts}</dt>
          <dd data-figure="accounts">{fmt(live.activeAccounts, 0)}</dd>
        </div>
      </dl>
      <figure class="chart">
        <svg
          viewBox={`0 0 ${W} ${H}`}
          role="img"
          aria-label={`${l.chart}: ${fmt(live.eventsPerSecond)}`}
          data-points={history.length}
        >
          <line x1={PAD} y1={H - PAD} x2={W - PAD} y2={H - PAD} class="axis" />
          <text x={PAD + 2} y={14} class="scale">{fmt(max)}</text>
          <polyline points={points} class="line" fill="none" />
        </svg>
        <figcaption>{l.chart}</figcaption>
      </figure>
      <h2>{l.byCollection}</h2>
      <ul class="bars">
        {collections.map(([name, rate]) => (
          <li key={name}>
            <span class="bar-label" title={name}>{names[name] ?? name}</span>
            <svg class="bar" viewBox="0 0 100 8" preserveAspectRatio="none" aria-hidden="true">
              <rect width={(100 * rate) / top} height="8" />
            </svg>
            <span class="bar-value">{fmt(rate)}</span>
          </li>
        ))}
      </ul>
      <h2 id="post-languages">{l.postsByLanguage}</h2>
      <p class="note">{l.postsByLanguageNote}</p>
      {(live.postLanguages ?? []).length === 0
        ? <p class="empty" data-empty="languages">{l.noLanguages}</p>
        : (
          <ul class="bars languages" aria-labelledby="post-languages">
            {live.postLanguages.map(({ lang: code, share }) => (
              <li key={code} data-lang={code}>
                <span class="bar-label" title={code}>
                  {languageName(code, lang)}
                </span>
                <svg class="bar" viewBox="0 0 100 8" preserveAspectRatio="none" aria-hidden="true">
                  <rect width={100 * Math.min(1, share)} height="8" />
                </svg>
                <span class="bar-value" data-share={share}>{formatShare(share, lang)}</span>
              </li>
            ))}
          </ul>
        )}
    </div>
  );
}
