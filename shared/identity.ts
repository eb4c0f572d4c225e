/**
 * The identity network's reads that several services need: a DID's document (from the PLC
 * directory, or the did:web host), the handle and PDS it names, and a handle's DID from a
 * handle resolver. Plain functions with a timeout; callers cache and map errors.
 * A did:web names its own host, so its document is fetched through fetchPublic (no private
 * targets, no odd ports) unless `allowPrivate` is set.
 */
import { readJson } from "./bounded_read.ts";
import { fetchPublic } from "./public_fetch.ts";
import { isValidDid, isValidHandle, isValidPlcDid } from "./syntax.ts";

const TIMEOUT_MS = 5000;

export interface DidDocument {
  id?: string;
  alsoKnownAs?: unknown;
  service?: { id?: string; type?: string; serviceEndpoint?: unknown }[];
}

const HOST_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const PATH_SEGMENT = /^[a-zA-Z0-9._-]+$/;

/**
 * Where a DID's document is: the PLC directory for a well-formed did:plc, the URL the did:web
 * method gives for a did:web; undefined for any other DID, or one that is malformed.
 */
export function didDocumentUrl(did: string, plcUrl: string): URL | undefined {
  if (did.startsWith("did:plc:")) {
    return isValidPlcDid(did) ? new URL(`/${did}`, plcUrl) : undefined;
  }
  if (did.startsWith("did:web:")) return didWebUrl(did);
  return undefined;
}

/**
 * A did:web's document URL, decoded as the did:web method says: the first part is the host,
 * where "%3A" is the one percent-encoding allowed (the port's colon); further parts, split
 * on ":", are path segments ("did:web:example.com:u:alice" is
 * https://example.com/u/alice/did.json), and without them the document is at
 * /.well-known/did.json. Anything else percent-encoded (%2F, %3F, %40…), an empty part or a
 * host that is not a DNS name: undefined.
 */
export function didWebUrl(did: string): URL | undefined {
  if (!did.startsWith("did:web:") || !isValidDid(did)) return undefined;
  const [authority, ...path] = did.slice("did:web:".length).split(":");
  const [host, port, extra] = authority.replace(/%3a/gi, ":").toLowerCase().split(":");
  if (extra !== undefined || host.length > 253) return undefined;
  if (!host.split(".").every((label) => HOST_LABEL.test(label))) return undefined;
  if (port !== undefined && !(/^[1-9][0-9]{0,4}$/.test(port) && Number(port) <= 65535)) {
    return undefined;
  }
  if (!path.every((s) => PATH_SEGMENT.test(s) && s !== "." && s !== "..")) return undefined;
  const origin = `https://${host}${port ? `:${port}` : ""}`;
  return new URL(
    path.length ? `${origin}/${path.join("/")}/did.json` : `${origin}/.well-known/did.json`,
  );
}

/** A DID whose document can be looked for: a well-formed did:plc or a valid did:web. */
export function isResolvableDid(did: string): boolean {
  return isValidPlcDid(did) || didWebUrl(did) !== undefined;
}

export interface DidDocumentOptions {
  fetch?: typeof fetch;
  /** Let a did:web name a loopback or private host, or any port (development, tests). */
  allowPrivate?: boolean;
}

/**
 * A DID's document, or undefined when there is none (404, an unsupported or malformed DID).
 * Throws UnsafeTargetError (public_fetch.ts) for a did:web on a host that is not public.
 */
export async function fetchDidDocument(
  did: string,
  plcUrl: string,
  options: typeof fetch | DidDocumentOptions = {},
): Promise<DidDocument | undefined> {
  const { fetch: fetchFn = fetch, allowPrivate = false } = typeof options === "function"
    ? { fetch: options }
    : options;
  const url = didDocumentUrl(did, plcUrl);
  if (!url) return undefined;
  const res = did.startsWith("did:web:")
    ? await fetchPublic(url, { fetch: fetchFn, allowPrivate, timeoutMs: TIMEOUT_MS })
    : await fetchFn(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
  if (res.status === 404 || res.status === 410) {
    await res.body?.cancel();
    return undefined;
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new Error(`Cannot read the DID document of ${did}: status ${res.status}`);
  }
  return await readJson(res) as DidDocument;
}

/** The PDS endpoint a DID document names, or undefined. */
export function pdsOfDocument(doc: DidDocument, did: string): string | undefined {
  const service = doc.service?.find((s) =>
    s.id === "#atproto_pds" || s.id === `${did}#atproto_pds`
  );
  return typeof service?.serviceEndpoint === "string" && service.serviceEndpoint
    ? service.serviceEndpoint
    : undefined;
}

/** The handle a DID document claims (its first at:// alias), lowercase, or undefined. */
export function handleOfDocument(doc: DidDocument): string | undefined {
  const aliases = Array.isArray(doc.alsoKnownAs) ? doc.alsoKnownAs : [];
  const alias = aliases.find((a) => typeof a === "string" && a.startsWith("at://"));
  const handle = typeof alias === "string" ? alias.slice(5).toLowerCase() : undefined;
  return handle && isValidHandle(handle) ? handle : undefined;
}

/**
 * The DID a handle resolves to through a handle resolver
 * (com.atproto.identity.resolveHandle), or undefined when it resolves to none.
 */
export async function resolveHandle(
  handle: string,
  resolverUrl: string,
  fetchFn: typeof fetch = fetch,
): Promise<string | undefined> {
  const url = new URL("/xrpc/com.atproto.identity.resolveHandle", resolverUrl);
  url.searchParams.set("handle", handle);
  const res = await fetchFn(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
  if (res.status === 400 || res.status === 404) {
    await res.body?.cancel();
    return undefined;
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new Error(`Cannot resolve the handle "${handle}": status ${res.status}`);
  }
  const did = (await readJson(res) as { did?: unknown }).did;
  return isValidDid(did) ? did : undefined;
}
