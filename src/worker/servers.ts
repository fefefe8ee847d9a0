import { UsageError } from '../errors.js';

/** NATS server URLs with their credentials taken out into connect options. */
export interface NatsServers {
  /** The URLs without any user, password or token: safe to print. */
  servers: string[];
  auth: { user: string; pass: string } | { token: string } | Record<string, never>;
}

/**
 * Split a NATS server list (`nats://alice:pw@h1:4222, h2:4222`) into URLs
 * with no credentials in them and the credentials themselves, as the
 * client's `{user, pass}` or `{token}` (nats.js v3 ignores userinfo in a
 * URL). `user:pass@` is a user and password, `token@` a token, both
 * percent-decoded; a scheme is optional. Every URL that carries credentials
 * must carry the same ones (the client has one set). Never echoes them.
 *
 * @example
 * ```ts
 * parseServers('nats://alice:s3cret@127.0.0.1:4222');
 * // { servers: ['nats://127.0.0.1:4222'], auth: { user: 'alice', pass: 's3cret' } }
 * ```
 */
export function parseServers(list: string): NatsServers {
  const servers: string[] = [];
  let info: string | undefined;
  for (const raw of list.split(',')) {
    const u = raw.trim();
    if (!u) continue;
    const m = /^([a-z][a-z0-9+.-]*:\/\/)?(.*)$/is.exec(u)!;
    const scheme = m[1] ?? '';
    const rest = m[2]!;
    const slash = rest.search(/[/?#]/);
    const authority = slash < 0 ? rest : rest.slice(0, slash);
    const at = authority.lastIndexOf('@');
    if (at < 0) {
      servers.push(u);
      continue;
    }
    const userinfo = authority.slice(0, at);
    if (info !== undefined && info !== userinfo) throw new UsageError('the NATS server URLs carry different credentials; give them once (the client has one user, password or token for every server)');
    info = userinfo;
    servers.push(scheme + rest.slice(at + 1));
  }
  if (info === undefined) return { servers, auth: {} };
  const dec = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      throw new UsageError('the credentials in the NATS URL are not valid percent-encoding');
    }
  };
  const colon = info.indexOf(':');
  if (colon < 0) return { servers, auth: { token: dec(info) } };
  return { servers, auth: { user: dec(info.slice(0, colon)), pass: dec(info.slice(colon + 1)) } };
}

/** Whether any URL of a server list carries a user, password or token. */
export function hasCredentials(list: string): boolean {
  try {
    return Object.keys(parseServers(list).auth).length > 0;
  } catch {
    return true;
  }
}
