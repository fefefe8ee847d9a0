import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** What a request says before its body is read: repeated headers, its target, its token; pipelining limits. */

/**
 * A header Node keeps only the first of when it is sent twice: Host (RFC
 * 9112 refuses such requests) and Authorization (which one would be checked
 * is a guess). Undefined when each comes at most once.
 */
export function twice(req: IncomingMessage): 'host' | 'authorization' | undefined {
  const raw = req.rawHeaders;
  let host = 0;
  let auth = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const h = raw[i]!;
    if (h.length === 4) {
      if (h.toLowerCase() === 'host' && ++host > 1) return 'host';
    } else if (h.length === 13 && h.toLowerCase() === 'authorization' && ++auth > 1) return 'authorization';
  }
  return undefined;
}

/** An absolute-form request target (RFC 9112 §3.2.2): http(s)://AUTHORITY[PATH][?QUERY], with no user info. */
export const ABSOLUTE = /^https?:\/\/([^/?#@]*)(\/[^?#]*)?(?:\?[^#]*)?$/i;

/** Where a request goes: its path, and the authority it names (the absolute-form target's, else Host). */
export interface Target {
  path: string;
  authority: string | undefined;
}

export function targetOf(req: IncomingMessage): Target | undefined {
  const url = req.url ?? '/';
  if (url.charCodeAt(0) === 0x2f) {
    const q = url.indexOf('?');
    return { path: q < 0 ? url : url.slice(0, q), authority: req.headers.host };
  }
  const m = ABSOLUTE.exec(url);
  if (!m) return undefined; // asterisk-form, authority-form, anything else
  return { path: m[2] ?? '/', authority: m[1]! };
}

/** Set on a connection: how many of its requests wait behind an answer not yet taken by the client (pipelining). */
export const QUEUED = Symbol('queued');
/**
 * Requests a connection may have waiting behind an answer the client has not
 * taken yet. Node parses a whole read (64 KiB: over a thousand small pipelined
 * requests) before it stops reading; past this many the connection is cut,
 * so that a client that sends and never reads cannot make the server hold
 * its answers.
 */
export const MAX_PIPELINED = 16;

/** Constant-time comparison of the bearer token (the token's length is not a secret: keygen's are 43 characters). */
export function tokenOk(h: string | undefined, want: Buffer): boolean {
  if (h === undefined || h.length <= 7 || h.charCodeAt(6) !== 0x20 || h.slice(0, 6).toLowerCase() !== 'bearer') return false;
  const given = Buffer.from(h.slice(7), 'latin1'); // header bytes as sent
  if (given.length !== want.length) {
    timingSafeEqual(want, want);
    return false;
  }
  return timingSafeEqual(given, want);
}
