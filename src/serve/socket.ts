import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

/** How long a connection whose body was not read is kept open after the answer, reading (and dropping) at most the rest of the cap. */
const LINGER_MS = 2000;

/** A connection's end: a reset, or a linger that reads what a client still sends before the close. */

/** Close a connection with a TCP reset (the TCP socket under TLS; a Unix socket is closed plainly). */
export function abort(socket: Socket): void {
  for (const s of [socket, (socket as Socket & { _parent?: Socket })._parent]) {
    try {
      if (s && !s.destroyed) {
        s.resetAndDestroy();
        break;
      }
    } catch {
      /* not a TCP handle */
    }
  }
  socket.destroy();
}

/** Set on a socket that Node closed for a header or request timeout. */
export const TIMED_OUT = Symbol('timedOut');
/** When a connection's last answer was written (a drain closes connections idle since then). */
export const LAST_ANSWER = Symbol('lastAnswer');

/**
 * After an answer given before the body was read: send it, close our side,
 * and read (dropping it) at most `budget` more bytes, then nothing, for at
 * most LINGER_MS before closing, so that the client reads the answer rather
 * than a reset, without the server reading a body it refused.
 */
export function linger(req: IncomingMessage, socket: Socket | null, budget: number): void {
  if (!socket) return;
  let seen = 0;
  req.removeAllListeners('data');
  const onData = (b: Buffer) => {
    seen += b.length;
    if (seen > budget) {
      // Stop reading (TCP flow control then holds the client back) rather than reset the
      // connection at once, which could destroy the answer before the client reads it.
      req.off('data', onData);
      req.pause();
    }
  };
  req.on('data', onData);
  req.on('end', () => socket.end());
  req.resume();
  const s = socket as Socket & { destroySoon?: () => void };
  s.destroySoon = function destroySoon(this: Socket) {
    this.end();
    const t = setTimeout(() => this.destroy(), LINGER_MS);
    t.unref();
    this.once('close', () => clearTimeout(t));
    this.once('end', () => this.destroy());
  };
}
