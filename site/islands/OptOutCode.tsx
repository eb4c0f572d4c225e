import { useEffect, useState } from "preact/hooks";

type State = "waiting" | "done" | "expired";

interface Props {
  code: string;
  /** What the account posts: `circles-out-<code>`. */
  phrase: string;
  state: "waiting" | "done";
  action: "out" | "in";
  expiresAt: string;
  /** Bluesky's composer with the phrase filled in. */
  compose: string;
  labels: Record<
    | "postThis"
    | "expires"
    | "waiting"
    | "doneOut"
    | "doneIn"
    | "expired"
    | "check"
    | "autoCheck"
    | "copy"
    | "copied"
    | "copyFailed"
    | "postOnBluesky",
    string
  >;
}

/** The first wait between two checks, in ms, and the longest after failures. */
const POLL_MS = 4000;
const MAX_POLL_MS = 30_000;

/**
 * An opt-out code's state: what to post (with Copy, and a link that opens Bluesky's
 * composer with it), and whether the network carried it yet. Without JavaScript a link
 * checks again; with it the page asks every few seconds by itself while the tab is shown,
 * slower after failures, and stops once the code is done or gone.
 */
export default function OptOutCode(props: Props) {
  const { labels: l } = props;
  const [state, setState] = useState<State>(props.state);
  const [polling, setPolling] = useState(false);
  const [canCopy, setCanCopy] = useState(false);
  const [copyStatus, setCopyStatus] = useState("");

  useEffect(() => {
    setCanCopy(!!navigator.clipboard?.writeText);
    if (props.state !== "waiting") return;
    let stopped = false;
    let wait = POLL_MS;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stop = (final?: State) => {
      stopped = true;
      setPolling(false);
      if (final) setState(final);
    };
    const tick = async () => {
      if (!document.hidden) {
        try {
          const res = await fetch(`/api/optout?code=${encodeURIComponent(props.code)}`);
          const json = res.headers.get("content-type")?.startsWith("application/json");
          const body = json ? await res.json() : await res.body?.cancel();
          if (body?.state === "done" || body?.state === "expired") return stop(body.state);
          wait = res.ok ? POLL_MS : Math.min(wait * 2, MAX_POLL_MS);
        } catch {
          wait = Math.min(wait * 2, MAX_POLL_MS);
        }
      }
      if (!stopped) timer = setTimeout(tick, wait);
    };
    setPolling(true);
    timer = setTimeout(tick, wait);
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, []);

  const copy = async () => {
    try {
      await navigator.clipboard.writeText(props.phrase);
      setCopyStatus(l.copied);
    } catch {
      setCopyStatus(l.copyFailed);
    }
    setTimeout(() => setCopyStatus(""), 2500);
  };
  const waiting = state === "waiting";
  const stateText = state === "done"
    ? (props.action === "out" ? l.doneOut : l.doneIn)
    : state === "expired"
    ? l.expired
    : l.waiting;
  return (
    <div class="opt-code" data-state={state}>
      {waiting && (
        <>
          <p>{l.postThis}</p>
          <p class="phrase-row">
            <code class="phrase">{props.phrase}</code>
            <button type="button" class="secondary" onClick={copy} hidden={!canCopy}>
              {l.copy}
            </button>
            <span class="status" role="status">{copyStatus}</span>
          </p>
          <p class="actions">
            <a id="opt-compose" class="button" href={props.compose}>{l.postOnBluesky}</a>
          </p>
          <p>
            {l.expires} <time dateTime={props.expiresAt}>{props.expiresAt.slice(11, 16)} UTC</time>
          </p>
        </>
      )}
      {/* One region, there from the start, so that its change is read out. */}
      <p class="opt-state" role="status">{stateText}</p>
      {waiting && polling && <p class="auto-check">{l.autoCheck}</p>}
      {waiting && (
        <p>
          <a href={`/optout?code=${encodeURIComponent(props.code)}`}>{l.check}</a>
        </p>
      )}
    </div>
  );
}
