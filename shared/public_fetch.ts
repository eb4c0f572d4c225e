/**
 * Fetches of URLs that come from the network instead of from our settings: a PDS endpoint
 * in a DID document, a did:web host. Such a URL could point a service at whatever it can
 * reach: its own Redis, a cloud metadata address, a host on the private network. So the
 * target must be a public host on its scheme's standard port over https, a name must resolve
 * to public addresses only, and every redirect hop is checked the same way before it is
 * followed.
 *
 * Development and tests run a PDS on loopback ports: `allowPrivate` lifts these checks.
 * Under a scoped --allow-net a service may not query DNS itself (Deno asks for the name
 * server's address); names are then checked by their form only, and the permission list
 * still bounds where a fetch can go. A name that resolves to a public address here and to a
 * private one when fetch resolves it again (DNS rebinding) is not caught by this module:
 * that permission list is the backstop.
 * @module
 */
import { RESERVED_TLDS } from "./syntax.ts";

/** A URL from the network points somewhere a service must not go; nothing was sent to it. */
export class UnsafeTargetError extends Error {
  override name = "UnsafeTargetError";
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** The addresses of a host name, or undefined when this process may not resolve names. */
export type Resolver = (hostname: string) => Promise<string[] | undefined>;

export interface PublicFetchOptions {
  /** Allow loopback, private and link-local hosts, http and any port (development, tests). */
  allowPrivate?: boolean;
  /** How names are resolved; by default Deno.resolveDns (A and AAAA). */
  resolve?: Resolver;
  fetch?: typeof fetch;
  /** Redirects followed, each checked like the first URL (default 3). */
  maxRedirects?: number;
  /** For all hops together (default 5000 ms). */
  timeoutMs?: number;
}

/** Special-use names that are never public, besides the handle specification's reserved ones. */
const PRIVATE_TLDS = new Set([...RESERVED_TLDS, "test", "home", "lan", "corp", "intranet"]);

/**
 * Throws an UnsafeTargetError unless `url` is https on the default port, with no
 * credentials, at a public address or a name whose every address is public.
 */
export async function checkPublicTarget(url: URL, options: PublicFetchOptions = {}) {
  const where = `"${url.href}"`;
  if (url.username || url.password) {
    throw new UnsafeTargetError(`Refused ${where}: it carries credentials`);
  }
  if (options.allowPrivate) {
    if (url.protocol !== "https:" && url.protocol !== "http:") {
      throw new UnsafeTargetError(`Refused ${where}: not http or https`);
    }
    return;
  }
  if (url.protocol !== "https:") throw new UnsafeTargetError(`Refused ${where}: not https`);
  // URL leaves the port empty when it is the scheme's default, 443.
  if (url.port !== "") throw new UnsafeTargetError(`Refused ${where}: port ${url.port} is not 443`);
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1").replace(/\.$/, "").toLowerCase();
  if (isIpLiteral(host)) {
    if (!isPublicAddress(host)) {
      throw new UnsafeTargetError(`Refused ${where}: ${host} is not a public address`);
    }
    return;
  }
  const tld = host.slice(host.lastIndexOf(".") + 1);
  if (!host.includes(".") || PRIVATE_TLDS.has(tld)) {
    throw new UnsafeTargetError(`Refused ${where}: ${host} is not a public name`);
  }
  const addresses = await (options.resolve ?? resolveSystem)(host);
  if (addresses === undefined) return;
  if (addresses.length === 0) {
    throw new UnsafeTargetError(`Refused ${where}: ${host} does not resolve`);
  }
  const inner = addresses.find((a) => !isPublicAddress(a));
  if (inner !== undefined) {
    throw new UnsafeTargetError(`Refused ${where}: ${host} resolves to ${inner}`);
  }
}

/**
 * GET a URL from the network with every hop checked by checkPublicTarget: redirects are
 * followed by hand, at most `maxRedirects` of them. Throws UnsafeTargetError for a refused
 * hop, and what fetch throws otherwise.
 */
export async function fetchPublic(
  input: URL | string,
  options: PublicFetchOptions = {},
): Promise<Response> {
  const fetchFn = options.fetch ?? fetch;
  const signal = AbortSignal.timeout(options.timeoutMs ?? 5000);
  const maxRedirects = options.maxRedirects ?? 3;
  let url = new URL(input);
  for (let hop = 0;; hop++) {
    await checkPublicTarget(url, options);
    const res = await fetchFn(url, { redirect: "manual", signal });
    const location = res.status >= 300 && res.status < 400 && res.headers.get("location");
    if (!location) return res;
    await res.body?.cancel();
    if (hop === maxRedirects) {
      throw new UnsafeTargetError(`Refused "${input}": more than ${maxRedirects} redirects`);
    }
    url = new URL(location, url);
  }
}

/** Whether an IPv4 or IPv6 address (without brackets) is a public unicast address. */
export function isPublicAddress(ip: string): boolean {
  const v4 = parseIpv4(ip);
  if (v4) return isPublicIpv4(v4);
  const v6 = parseIpv6(ip);
  return v6 ? isPublicIpv6(v6) : false;
}

function isIpLiteral(host: string): boolean {
  return parseIpv4(host) !== undefined || host.includes(":");
}

/** Both record types; a name Deno may not resolve here (NotCapable) gives undefined. */
async function resolveSystem(host: string): Promise<string[] | undefined> {
  const answers = await Promise.allSettled([
    Deno.resolveDns(host, "A"),
    Deno.resolveDns(host, "AAAA"),
  ]);
  const addresses = answers.flatMap((a) => a.status === "fulfilled" ? a.value : []);
  const notCapable = answers.some((a) =>
    a.status === "rejected" &&
    (a.reason instanceof Deno.errors.NotCapable || a.reason instanceof Deno.errors.PermissionDenied)
  );
  return addresses.length === 0 && notCapable ? undefined : addresses;
}

function parseIpv4(ip: string): number[] | undefined {
  const parts = ip.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p))) return undefined;
  const bytes = parts.map(Number);
  return bytes.every((b) => b <= 255) ? bytes : undefined;
}

function isPublicIpv4([a, b, c]: number[]): boolean {
  return !(
    a === 0 || // this network
    a === 10 || // private
    (a === 100 && b >= 64 && b <= 127) || // shared address space (carrier NAT)
    a === 127 || // loopback
    (a === 169 && b === 254) || // link-local, cloud metadata
    (a === 172 && b >= 16 && b <= 31) || // private
    (a === 192 && b === 0 && (c === 0 || c === 2)) || // protocol assignments, documentation
    (a === 192 && b === 88 && c === 99) || // 6to4 relays
    (a === 192 && b === 168) || // private
    (a === 198 && (b === 18 || b === 19)) || // benchmarking
    (a === 198 && b === 51 && c === 100) || // documentation
    (a === 203 && b === 0 && c === 113) || // documentation
    a >= 224 // multicast, reserved, broadcast
  );
}

/** Eight 16-bit groups, or undefined; accepts "::" and a dotted IPv4 tail. */
function parseIpv6(ip: string): number[] | undefined {
  let text = ip.replace(/%.*$/, "");
  const tail = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (tail) {
    const v4 = parseIpv4(tail[2]);
    if (!v4) return undefined;
    text = `${tail[1]}${((v4[0] << 8) | v4[1]).toString(16)}:${
      ((v4[2] << 8) | v4[3]).toString(16)
    }`;
  }
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groups = (s: string) => (s === "" ? [] : s.split(":"));
  const head = groups(halves[0]);
  const rest = halves.length === 2 ? groups(halves[1]) : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const all = [...head, ...Array(halves.length === 2 ? missing : 0).fill("0"), ...rest];
  if (!all.every((g) => /^[0-9a-f]{1,4}$/i.test(g))) return undefined;
  return all.map((g) => parseInt(g, 16));
}

function isPublicIpv6(g: number[]): boolean {
  const embedded = (hi: number, lo: number) => [hi >> 8, hi & 255, lo >> 8, lo & 255];
  const zeros = (n: number) => g.slice(0, n).every((x) => x === 0);
  if (zeros(5) && g[5] === 0xffff) return isPublicIpv4(embedded(g[6], g[7])); // IPv4-mapped
  if (zeros(6)) return false; // unspecified, loopback, IPv4-compatible
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) {
    return isPublicIpv4(embedded(g[6], g[7])); // NAT64
  }
  if (g[0] === 0x2002) return isPublicIpv4(embedded(g[1], g[2])); // 6to4
  return !(
    (g[0] & 0xfe00) === 0xfc00 || // unique local
    (g[0] & 0xffc0) === 0xfe80 || // link-local
    (g[0] & 0xffc0) === 0xfec0 || // site-local
    (g[0] & 0xff00) === 0xff00 || // multicast
    (g[0] === 0x2001 && g[1] === 0x0db8) || // documentation
    (g[0] === 0x0100 && g[1] === 0 && g[2] === 0 && g[3] === 0) || // discard
    (g[0] === 0x2001 && g[1] < 0x0200) // IETF protocol assignments (Teredo, ORCHID…)
  );
}
