/**
 * The identity network's reads that several services need: a DID's document (from the PLC
 * directory, or the did:web host), the handle and PDS it names, and a handle's DID from a
 * handle resolver. Plain functions with a timeout; callers cache and map errors.
 */
import { isValidDid, isValidHandle } from "./syntax.ts";

const TIMEOUT_MS = 5000;

export interface DidDocument {
  id?: string;
  alsoKnownAs?: unknown;
  service?: { id?: string; type?: string; serviceEndpoint?: unknown }[];
}

/** Where a DID's document is: the PLC directory for did:plc, the host for did:web. */
export function didDocumentUrl(did: string, plcUrl: string): URL | undefined {
  if (did.startsWith("did:plc:")) return new URL(`/${did}`, plcUrl);
  if (did.startsWith("did:web:")) {
    return new URL(`https://${decodeURIComponent(did.slice(8))}/.well-known/did.json`);
  }
  return undefined;
}

/** A DID's document, or undefined when there is none (404, an unsupported method). */
export async function fetchDidDocument(
  did: string,
  plcUrl: string,
  fetchFn: typeof fetch = fetch,
): Promise<DidDocument | undefined> {
  const url = didDocumentUrl(did, plcUrl);
  if (!url) return undefined;
  const res = await fetchFn(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
  if (res.status === 404 || res.status === 410) {
    await res.body?.cancel();
    return undefined;
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new Error(`Cannot read the DID document of ${did}: status ${res.status}`);
  }
  return await res.json() as DidDocument;
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
  const did = (await res.json() as { did?: unknown }).did;
  return isValidDid(did) ? did : undefined;
}
