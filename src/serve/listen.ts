import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { say } from './log.js';
import { EXIT_LISTEN, type Listen } from './config.js';

export function where(l: Listen, tls: boolean, port?: number): string {
  if ('path' in l) return `unix:${l.path}`;
  const host = l.host.includes(':') ? `[${l.host}]` : l.host;
  return `${tls ? 'https' : 'http'}://${host}:${port ?? l.port}`;
}

/** One line for a failed listen: the address and the reason in words. */
export function listenProblem(l: Listen, e: NodeJS.ErrnoException): string {
  const at = 'path' in l ? `unix:${l.path}` : `${l.host.includes(':') ? `[${l.host}]` : l.host}:${l.port}`;
  const why =
    e.code === 'EADDRINUSE' ? 'the address is in use (is another server running there?)'
    : e.code === 'EACCES' ? 'permission denied (ports below 1024 need privileges; a socket path needs a writable directory)'
    : e.code === 'EADDRNOTAVAIL' ? 'this machine has no such address'
    : e.code === 'ENOENT' ? 'no such directory'
    : e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN' ? 'the host name does not resolve'
    : (e.code ?? e.message);
  return `aes-payload: cannot listen on ${at}: ${why}`;
}


/** A Unix socket path left by a server that is gone is removed; one in use, or a file that is not a socket, is refused. */
export async function prepareUnix(path: string): Promise<void> {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  if (!st.isSocket()) {
    say(`aes-payload: cannot listen on unix:${path}: the path exists and is not a socket`);
    process.exit(EXIT_LISTEN);
  }
  const alive = await new Promise<boolean>((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
  if (alive) {
    say(`aes-payload: cannot listen on unix:${path}: the address is in use (is another server running there?)`);
    process.exit(EXIT_LISTEN);
  }
  unlinkSync(path);
}

export function setMode(l: Listen): void {
  if ('path' in l) chmodSync(l.path, l.mode);
}

export function removeSocket(l: Listen): void {
  if (!('path' in l)) return;
  try {
    if (lstatSync(l.path).isSocket()) unlinkSync(l.path);
  } catch {
    /* gone already */
  }
}
