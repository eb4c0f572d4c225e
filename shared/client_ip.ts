/**
 * The address a request comes from, for per-client limits. Behind reverse proxies the
 * connection comes from the nearest proxy, and X-Forwarded-For lists the addresses each
 * proxy saw, the client's own first. Only the entries our own proxies appended can be
 * believed: a client writes whatever it likes at the start of the list. So with `trusted`
 * proxies in front, the client is the `trusted`-th entry from the right (the one the
 * outermost trusted proxy appended), never the first.
 * @module
 */

/** An IPv4 or IPv6 address as proxies write them (no port, no brackets). */
const ADDRESS = /^(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9a-f:.]{2,45})$/i;

/**
 * The client's address: the connection's peer when no proxy is trusted (`trusted` 0), else
 * the entry of X-Forwarded-For that the outermost of `trusted` proxies appended. A list
 * shorter than that gives its first entry; an entry that is no address gives the peer.
 */
export function clientIp(forwardedFor: string | null, peer: string, trusted: number): string {
  if (trusted <= 0 || !forwardedFor) return peer;
  const hops = forwardedFor.split(",").map((h) => h.trim()).filter(Boolean);
  if (hops.length === 0) return peer;
  const hop = hops[Math.max(0, hops.length - trusted)];
  return ADDRESS.test(hop) ? hop : peer;
}
