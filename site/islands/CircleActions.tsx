import { useEffect, useRef, useState } from "preact/hooks";

interface Props {
  share: string;
  shared: string;
  copyLink: string;
  copyImage: string;
  copyHandles: string;
  copied: string;
  copyFailed: string;
}

/** The page's parts these buttons read at click time, so they follow the options. */
const downloadLink = () => document.getElementById("download-png") as HTMLAnchorElement | null;
const shareUrl = () => (document.getElementById("share-url") as HTMLInputElement | null)?.value;

/** The PNG behind the Download link, as a file to share. */
async function pngFile(link: HTMLAnchorElement): Promise<File> {
  const res = await fetch(link.href);
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  return new File([await res.blob()], link.download || "circles.png", { type: "image/png" });
}

/**
 * Share, copy the link, copy the image and copy the handles. Share opens the phone's share
 * sheet with the PNG where the browser can share files, else with the link. They read the
 * page at click time (the Download link, the share link and the table), so they stay right
 * after the options change the page's contents. Without JavaScript, or without what a
 * button needs (a share sheet, a clipboard), it is not shown: it could do nothing.
 */
export default function CircleActions(props: Props) {
  const [status, setStatus] = useState("");
  const [can, setCan] = useState({ share: false, image: false, text: false });
  /** The PNG fetched ahead, once a pointer or focus nears Share: the sheet must open fast. */
  const ahead = useRef<{ href: string; file: Promise<File> }>();
  useEffect(() => {
    setCan({
      share: typeof navigator.share === "function",
      image: typeof ClipboardItem !== "undefined" && !!navigator.clipboard?.write,
      text: !!navigator.clipboard?.writeText,
    });
  }, []);

  const done = (text: string) => {
    setStatus(text);
    setTimeout(() => setStatus(""), 2500);
  };
  const prepare = () => {
    const link = downloadLink();
    if (!link || typeof navigator.canShare !== "function") return;
    if (ahead.current?.href === link.href) return;
    const file = pngFile(link);
    file.catch(() => {});
    ahead.current = { href: link.href, file };
  };
  const share = async () => {
    const url = shareUrl();
    const title = document.title;
    try {
      prepare();
      const file = await ahead.current?.file.catch(() => undefined);
      if (file && navigator.canShare?.({ files: [file] })) {
        await navigator.share({ files: [file], title, text: url });
      } else {
        await navigator.share({ title, url });
      }
      done(props.shared);
    } catch (err) {
      // Closing the sheet is no failure.
      if ((err as Error).name !== "AbortError") done(props.copyFailed);
    }
  };
  const copyText = async (text: string) => {
    try {
      await navigator.clipboard.writeText(text);
      done(props.copied);
    } catch {
      done(props.copyFailed);
    }
  };
  const copyImage = async () => {
    const link = downloadLink();
    if (!link) return;
    try {
      const blob = fetch(link.href).then((r) => {
        if (!r.ok) throw new Error(`HTTP ${r.status}`);
        return r.blob();
      });
      await navigator.clipboard.write([new ClipboardItem({ "image/png": blob })]);
      done(props.copied);
    } catch {
      done(props.copyFailed);
    }
  };
  const handles = () =>
    [...document.querySelectorAll<HTMLElement>("#people [data-handle]")]
      .map((row) => row.dataset.handle).filter(Boolean).map((h) => `@${h}`).join(" ");
  return (
    <div class="copy-actions">
      <button
        type="button"
        id="share-sheet"
        onClick={share}
        onPointerEnter={prepare}
        onFocus={prepare}
        hidden={!can.share}
      >
        {props.share}
      </button>
      <button type="button" onClick={() => copyText(shareUrl() ?? "")} hidden={!can.text}>
        {props.copyLink}
      </button>
      <button type="button" onClick={copyImage} hidden={!can.image}>{props.copyImage}</button>
      <button type="button" onClick={() => copyText(handles())} hidden={!can.text}>
        {props.copyHandles}
      </button>
      <span class="status" role="status">{status}</span>
    </div>
  );
}
