import { useEffect, useState } from "preact/hooks";

interface Props {
  copyImage: string;
  copyHandles: string;
  copied: string;
  copyFailed: string;
}

/**
 * Copy the image and copy the handles. They read the page at click time (the Download link
 * and the table), so they stay right after the options change the page's contents.
 */
export default function CircleActions(props: Props) {
  const [status, setStatus] = useState("");
  // Without JavaScript, or without a clipboard, these buttons could do nothing: none shows.
  const [canCopyImage, setCanCopyImage] = useState(false);
  const [canCopyText, setCanCopyText] = useState(false);
  useEffect(() => {
    setCanCopyImage(typeof ClipboardItem !== "undefined" && !!navigator.clipboard?.write);
    setCanCopyText(!!navigator.clipboard?.writeText);
  }, []);

  const done = (ok: boolean) => {
    setStatus(ok ? props.copied : props.copyFailed);
    setTimeout(() => setStatus(""), 2500);
  };
  const copyImage = async () => {
    const link = document.getElementById("download-png") as HTMLAnchorElement | null;
    if (!link) return;
    try {
      const blob = fetch(link.href).then((r) => {
        if (!r.ok) throw new Error(`HTTP ${r.status}`);
        return r.blob();
      });
      await navigator.clipboard.write([new ClipboardItem({ "image/png": blob })]);
      done(true);
    } catch {
      done(false);
    }
  };
  const copyHandles = async () => {
    const handles = [...document.querySelectorAll<HTMLElement>("#people [data-handle]")]
      .map((row) => row.dataset.handle).filter(Boolean).map((h) => `@${h}`);
    try {
      await navigator.clipboard.writeText(handles.join(" "));
      done(true);
    } catch {
      done(false);
    }
  };
  return (
    <div class="copy-actions">
      <button type="button" onClick={copyImage} hidden={!canCopyImage}>{props.copyImage}</button>
      <button type="button" onClick={copyHandles} hidden={!canCopyText}>
        {props.copyHandles}
      </button>
      <span class="status" role="status">{status}</span>
    </div>
  );
}
