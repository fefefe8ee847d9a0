import { BlockList, isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';
import { quote, UsageError } from '../errors.js';
import { HttpError } from './http.js';

/**
 * Who may talk to the service, checked before any route: the `Host` a
 * request names (DNS rebinding), browsers' cross-origin requests, and which
 * peers may say who the client is (`X-Forwarded-For`).
 */

/**
 * The names a `Host` header may carry. A DNS rebinding attack makes a
 * browser send its page's own name to this server; an IP literal cannot be
 * rebound (the browser connected to that very address), so IP literals are
 * accepted, as are `localhost`, the listen host when it is a name, and the
 * `--allowed-host` names (`.example.com` also takes its subdomains, `*` any
 * name).
 */
export class HostCheck {
  private readonly exact = new Set<string>(['localhost']);
  private readonly suffixes: string[] = [];
  private readonly any: boolean;
  private readonly seen = new Map<string, boolean>();

  constructor(listenHost: string | undefined, allowed: readonly string[]) {
    if (listenHost && isIP(listenHost) === 0) this.exact.add(listenHost.toLowerCase());
    let any = false;
    for (const a of allowed) {
      const n = a.trim().toLowerCase().replace(/\.$/, '');
      if (n === '*') any = true;
      else if (n.startsWith('.') && n.length > 1) this.suffixes.push(n);
      else if (/^[a-z0-9_.-]+$/.test(n) || isIP(n.replace(/^\[|\]$/g, ''))) this.exact.add(n);
      else throw new UsageError(`--allowed-host takes host names (api.example.com, .example.com for subdomains too, or *), not ${quote(a)}`);
    }
    this.any = any;
  }

  /** Whether a Host header value (name or address, with an optional port) is acceptable. */
  ok(host: string | undefined): boolean {
    if (host === undefined || this.any) return true; // HTTP/1.0 without Host: no browser sends that
    const hit = this.seen.get(host);
    if (hit !== undefined) return hit;
    const r = this.judge(host);
    if (this.seen.size >= 256) this.seen.clear();
    this.seen.set(host, r);
    return r;
  }

  private judge(host: string): boolean {
    let name: string;
    if (host.startsWith('[')) {
      const end = host.indexOf(']');
      if (end < 0 || !/^(?::\d{1,5})?$/.test(host.slice(end + 1))) return false;
      return isIP(host.slice(1, end)) === 6;
    }
    const m = /^([^:]+)(?::\d{1,5})?$/.exec(host);
    if (!m) return false;
    name = m[1]!.toLowerCase().replace(/\.$/, '');
    if (isIP(name) === 4) return true;
    if (this.exact.has(name)) return true;
    return this.suffixes.some((s) => name.endsWith(s) || name === s.slice(1));
  }
}

/**
 * A browser's cross-origin request: `Sec-Fetch-Site` other than
 * `same-origin` or `none` (a typed URL), or an `Origin` whose host differs
 * from `Host`. This service serves no pages, so no browser page has a
 * reason to call it. Clients that are not browsers send neither header.
 */
export function crossOrigin(req: IncomingMessage, authority = req.headers.host): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return true;
  const origin = req.headers.origin;
  if (origin === undefined) return false;
  try {
    const u = new URL(origin);
    return u.host.toLowerCase() !== (authority ?? '').toLowerCase();
  } catch {
    return true; // "null" and anything else that is not a URL
  }
}

export const HOST_REFUSED = () => new HttpError(421, 'ERR_HOST', 'this server does not answer for the host named in the request (see --allowed-host)');
export const CROSS_ORIGIN_REFUSED = () => new HttpError(403, 'ERR_CROSS_ORIGIN', 'cross-origin requests from browsers are refused');

/**
 * The peers whose `X-Forwarded-For` is believed (`--trust-proxy`): IP
 * addresses and CIDR blocks, and `unix` for peers on a Unix socket.
 */
export class TrustedProxies {
  private readonly list = new BlockList();
  private readonly unix: boolean;
  readonly empty: boolean;

  constructor(specs: readonly string[]) {
    let unix = false;
    for (const s of specs) {
      if (s === 'unix') {
        unix = true;
        continue;
      }
      const m = /^([^/]+)(?:\/(\d{1,3}))?$/.exec(s);
      const ip = m?.[1] ?? '';
      const fam = isIP(ip);
      const bits = m?.[2] !== undefined ? Number(m[2]) : fam === 4 ? 32 : 128;
      if (!fam || bits > (fam === 4 ? 32 : 128)) throw new UsageError(`--trust-proxy takes IP addresses, CIDR blocks (10.0.0.0/8, fd00::/8) or unix, not ${quote(s)}`);
      this.list.addSubnet(ip, bits, fam === 4 ? 'ipv4' : 'ipv6');
    }
    this.unix = unix;
    this.empty = specs.length === 0;
  }

  private trusted(addr: string | undefined): boolean {
    if (addr === undefined || addr === '') return this.unix;
    const a = addr.startsWith('::ffff:') && isIP(addr.slice(7)) === 4 ? addr.slice(7) : addr;
    const fam = isIP(a);
    return fam !== 0 && this.list.check(a, fam === 4 ? 'ipv4' : 'ipv6');
  }

  /**
   * The client's address: the peer's, or, when the peer is a trusted proxy,
   * the right-most address of `X-Forwarded-For` that is not itself trusted.
   */
  client(req: IncomingMessage): string {
    const peer = req.socket.remoteAddress;
    const self = peer ?? 'unix';
    if (this.empty || !this.trusted(peer)) return self;
    const xff = req.headers['x-forwarded-for'];
    if (xff === undefined) return self;
    const hops = (Array.isArray(xff) ? xff.join(',') : xff).split(',').map((h) => h.trim());
    for (let i = hops.length - 1; i >= 0; i--) {
      const h = hops[i]!;
      if (isIP(h) === 0) return self; // not an address: believe nothing further
      if (!this.trusted(h)) return h;
    }
    return hops[0] || self;
  }
}
