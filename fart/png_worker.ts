/**
 * A PNG renderer thread: SVGs in, PNGs out, one at a time. Drawing a 1200 px circle takes
 * tens of milliseconds of CPU; here it leaves the main thread to requests. It runs png.ts's
 * renderer as it is, with the API's own permissions.
 */
/// <reference lib="deno.worker" />
import { renderPng } from "./png.ts";

export interface RenderRequest {
  id: number;
  svg: string;
  width: number;
}

export type RenderReply = { id: number; png: Uint8Array } | { id: number; error: string };

self.onmessage = async (e: MessageEvent<RenderRequest>) => {
  const { id, svg, width } = e.data;
  let reply: RenderReply;
  try {
    reply = { id, png: await renderPng(svg, width) };
  } catch (err) {
    reply = { id, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) };
  }
  // The PNG's buffer moves to the main thread rather than being copied.
  self.postMessage(reply, "png" in reply ? [reply.png.buffer as ArrayBuffer] : []);
};
