import { createServer as createHttp, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttps, type Server as HttpsServer } from 'node:https';
import { Server as NetServer, type Socket } from 'node:net';
import { HostCheck, TrustedProxies } from './guard.js';
import { say } from './log.js';
import type { Snapshot } from './metrics.js';
import { LAST_ANSWER, service, TIMED_OUT } from './service.js';
import { DRAIN_IDLE_MS, type RunConfig } from './config.js';

export type Conn = Socket & { _httpMessage?: unknown; [LAST_ANSWER]?: number; [TIMED_OUT]?: boolean; [SECURE]?: boolean; [SENT]?: { bytes: number; since: number } };

/** Set on a TLS connection once its handshake is done: a client error before that is the handshake's. */
export const SECURE = Symbol('secure');
/** Bytes of a connection's answers the client had taken at the last check, and since when (a client that never reads). */
export const SENT = Symbol('sent');

export const REASONS: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' };

export interface Hooks {
  onListening(port: number | undefined): void;
  onListenError(e: NodeJS.ErrnoException): void;
  metricsText: (own: () => Snapshot) => Promise<string>;
  /** Draining, and no connection left. */
  onDrained(): void;
}

/**
 * One serving process: answer, and on a drain stop accepting, answer every
 * request already received (the last answers with "Connection: close"),
 * close idle connections, then call onDrained. `own`: it listens itself
 * (without workers); otherwise the primary accepts connections and hands
 * them over ({@link accept}).
 */
export function single(c: RunConfig, worker: string, hooks: Hooks, own: boolean) {
  let draining = false;
  let drained = false;
  const hosts = new HostCheck('host' in c.listen ? c.listen.host : undefined, c.allowedHosts);
  const proxies = new TrustedProxies(c.trustProxy);
  const svc = service(
    {
      ...(c.keys ? { keys: c.keys } : {}),
      ...(c.token ? { token: c.token } : {}),
      maxBody: c.maxBody,
      legacyCbc: c.legacyCbc,
      v1: c.v1,
      log: c.log,
      hosts,
      proxies,
      draining: () => draining,
      metricsText: () => hooks.metricsText(() => svc.metrics.snapshot()),
    },
    worker,
  );
  // Node checks the header and request timeouts every connectionsCheckingInterval (30 s by default): often enough to mean them.
  // requireHostHeader: false, so that a request without Host gets this service's 400 (JSON, headers, a log line), not Node's bare one.
  const opts = {
    headersTimeout: c.headersTimeout,
    requestTimeout: c.requestTimeout,
    keepAliveTimeout: c.keepAliveTimeout,
    connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(c.headersTimeout / 4))),
    maxHeaderSize: 16 * 1024,
    requireHostHeader: false,
  };
  const server: Server | HttpsServer = c.tls
    ? createHttps({ ...opts, cert: c.tls.cert, key: c.tls.key, minVersion: 'TLSv1.2', handshakeTimeout: c.headersTimeout }, svc.handle)
    : createHttp(opts, svc.handle);
  server.on('checkContinue', svc.checkContinue);
  server.maxConnections = c.maxConnections;
  /** Every connection, from its accept (before any TLS handshake) to its close: the drain waits for them all. */
  const raw = new Set<Socket>();
  /** HTTP connections (after the TLS handshake). */
  const conns = new Set<Conn>();
  svc.metrics.connections = () => conns.size;
  const settle = () => {
    if (draining && raw.size === 0 && !drained) {
      drained = true;
      hooks.onDrained();
    }
  };
  server.on('connection', (s: Socket) => {
    raw.add(s);
    s.once('close', () => {
      raw.delete(s);
      settle();
    });
  });
  server.on(c.tls ? 'secureConnection' : 'connection', (s: Conn) => {
    s[LAST_ANSWER] = performance.now();
    s[SECURE] = true;
    void s.remoteAddress; // read now: Node keeps it, and a log line after a reset still names the client
    conns.add(s);
    s.once('close', () => conns.delete(s));
    // A connection accepted during a drain (by the primary, before it stopped accepting) is served like
    // the others: its requests are answered with "Connection: close", and it is closed when idle.
  });
  // A timed-out, malformed or oversized request: answer if nothing was sent yet, then destroy the
  // socket (never a half-close that keeps the slot: slowloris), with a log line naming the client.
  server.on('clientError', (e: NodeJS.ErrnoException, socket: Conn) => {
    const code = e.code ?? '';
    if (c.tls && !socket[SECURE]) {
      // The TLS handshake failed or timed out (https passes tlsClientError on here): no HTTP can be spoken.
      const timeout = code === 'ERR_TLS_HANDSHAKE_TIMEOUT';
      svc.metrics.clientError(timeout ? 'timeout' : 'tls');
      svc.connectionLine(socket, timeout ? 408 : 400, 0, timeout ? 'timeout' : 'tls');
      socket.destroy();
      return;
    }
    if (code === 'ECONNRESET' || code === 'EPIPE' || !socket.writable) {
      socket.destroy();
      return;
    }
    const status = code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    const reason = status === 408 ? 'timeout' : status === 431 ? 'headers_too_large' : 'bad_request';
    svc.metrics.clientError(reason);
    if (status === 408) socket[TIMED_OUT] = true;
    const inRequest = socket._httpMessage as ServerResponse | null | undefined;
    let bytes = 0;
    if (!inRequest || !inRequest.headersSent) {
      const body = `{"error":{"code":"${status === 408 ? 'ERR_TIMEOUT' : status === 431 ? 'ERR_HEADERS_TOO_LARGE' : 'ERR_BAD_REQUEST'}","message":"${REASONS[status]!.toLowerCase()}"}}`;
      bytes = body.length;
      socket.write(`HTTP/1.1 ${status} ${REASONS[status]}\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\ncache-control: no-store\r\nx-content-type-options: nosniff\r\n\r\n${body}`);
    }
    // A request in progress gets its own log line (as 408) when its body reading fails.
    if (!inRequest) svc.connectionLine(socket, status, bytes, reason);
    // An answer already written is flushed on the next tick (Node corks it): destroy after that.
    if (inRequest?.headersSent) setImmediate(() => socket.destroy());
    else socket.destroy();
  });
  let listening = false;
  server.on('error', (e: NodeJS.ErrnoException) => {
    if (!listening) hooks.onListenError(e);
    else say(`aes-payload: server error: ${e.code ?? e.message}`);
  });
  if (own) {
    const cb = () => {
      listening = true;
      const a = server.address();
      hooks.onListening(typeof a === 'object' && a ? a.port : undefined);
    };
    if ('path' in c.listen) server.listen(c.listen.path, cb);
    else server.listen(c.listen.port, c.listen.host, cb);
  } else {
    // Connections come from the primary (accept()); Node starts its header and request timeout checks on 'listening'.
    listening = true;
    server.emit('listening');
  }

  // A client that takes no byte of its answers for --request-timeout is cut off: otherwise a client
  // that never reads keeps the answers (and the connection) for good. Checked in a sweep, off the hot path.
  const sweepEvery = Math.max(100, Math.min(1000, Math.floor(c.requestTimeout / 4)));
  setInterval(() => {
    const now = performance.now();
    for (const s of conns) {
      const pending = s.writableLength;
      if (pending === 0) {
        s[SENT] = undefined;
        continue;
      }
      const taken = (s.bytesWritten ?? 0) - pending;
      const was = s[SENT];
      if (was === undefined || taken > was.bytes) s[SENT] = { bytes: taken, since: now };
      else if (now - was.since >= c.requestTimeout) svc.cut(s, 'send_timeout');
    }
  }, sweepEvery).unref();

  const drain = () => {
    if (draining) return;
    draining = true;
    // Stop accepting at once: net.Server's close (http's would also close idle connections, and a
    // request already sent on one would be lost). A connection the kernel completed but that was not
    // accepted yet is reset by the kernel when the socket closes; closing now, before this turn of the
    // loop writes any answer (which clients meet with new connections), keeps that window smallest.
    if (own) NetServer.prototype.close.call(server);
    const idle = c.keepAliveTimeout > 0 ? Math.min(DRAIN_IDLE_MS, c.keepAliveTimeout) : DRAIN_IDLE_MS;
    const began = performance.now();
    say(`aes-payload: draining: ${conns.size} connection${conns.size === 1 ? '' : 's'} open${worker !== '0' ? ` (worker ${worker})` : ''}`);
    // Idle since the drain began (or since its last answer, if later), for `idle` ms: closed. A client
    // that sends on it before then is answered, with "Connection: close".
    const sweep = () => {
      const now = performance.now();
      for (const s of conns) if (!s._httpMessage && now - Math.max(began, s[LAST_ANSWER] ?? 0) >= idle) s.destroy();
    };
    sweep();
    setInterval(sweep, 50).unref();
    setTimeout(() => {
      let busy = 0;
      for (const s of conns) {
        if (s._httpMessage) busy++;
        s.destroy();
      }
      for (const s of raw) s.destroy();
      if (busy) say(`aes-payload: the drain took over ${c.drainTimeout} ms; closed ${busy} connection${busy === 1 ? '' : 's'} with a request in progress`);
      if (!drained) {
        drained = true;
        hooks.onDrained();
      }
    }, c.drainTimeout).unref();
    setImmediate(settle);
  };
  const reload = (tls: { cert: string; key: string } | undefined, token: Buffer | undefined, hasToken: boolean) => {
    if (tls && 'setSecureContext' in server) (server as HttpsServer).setSecureContext({ cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' });
    if (hasToken) svc.setToken(token);
  };
  /** A connection the primary accepted (with workers); over --max-connections it is closed, as Node does. */
  const accept = (s: Socket) => {
    if (raw.size >= c.maxConnections) {
      s.destroy();
      return;
    }
    server.emit('connection', s);
  };
  return { server, drain, reload, accept, metrics: svc.metrics, isDraining: () => draining };
}
