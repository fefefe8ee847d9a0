import cluster, { type Worker } from 'node:cluster';
import { createPrivateKey } from 'node:crypto';
import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { createServer as createHttp, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttps, type Server as HttpsServer } from 'node:https';
import { connect, createServer as createNetServer, Server as NetServer, type Socket } from 'node:net';
import type { Keyring } from '../keys/keyring.js';
import type { Keys } from '../payload.js';
import { HostCheck, TrustedProxies } from './guard.js';
import { flushLog, isoNow, logLine, say } from './log.js';
import { render, runtime, type Snapshot } from './metrics.js';
import { LAST_ANSWER, service, TIMED_OUT } from './service.js';
import { isSea } from '../io/sea.js';

/** Where to listen: an address and port, or a Unix socket. */
export type Listen = { host: string; port: number } | { path: string; mode: number };

/** Everything a serving process needs; sent to cluster workers over IPC (never argv or env). */
export interface RunConfig {
  listen: Listen;
  tls?: { cert: string; key: string };
  keys?: Keys;
  token?: Buffer;
  maxBody: number;
  legacyCbc: boolean;
  v1: boolean;
  log: boolean;
  workers: number;
  headersTimeout: number;
  requestTimeout: number;
  keepAliveTimeout: number;
  maxConnections: number;
  drainTimeout: number;
  allowedHosts: string[];
  trustProxy: string[];
  version: string;
}

/** What SIGHUP loads again: the TLS certificate and key, and the token (from a file). Throws, saying why, on failure. */
export type Reload = () => Promise<{ tls?: { cert: string; key: string }; token?: Buffer; what: string }>;

/** Exit statuses of the service beyond the CLI's (docs/SERVICE.md, "Exit codes"). */
export const EXIT_LISTEN = 5;
const EXIT_WORKER_FAILED = 70;

/** An idle kept-alive connection is closed during a drain once it has been idle this long (or the keep-alive timeout, if shorter). */
const DRAIN_IDLE_MS = 1000;

interface Wire {
  secret?: string;
  ring?: { primary: string; source: string; keys: [string, string][] };
  rsa?: string;
}

function keysToWire(k: Keys | undefined): Wire | undefined {
  if (!k) return undefined;
  return {
    ...(k.secret ? { secret: Buffer.from(k.secret).toString('base64') } : {}),
    ...(k.ring ? { ring: { primary: k.ring.primary, source: k.ring.source, keys: [...k.ring.keys].map(([kid, v]) => [kid, v.toString('base64')] as [string, string]) } } : {}),
    ...(k.rsa ? { rsa: k.rsa.export({ format: 'pem', type: 'pkcs8' }) as string } : {}),
  };
}

function keysFromWire(w: Wire | undefined): Keys | undefined {
  if (!w) return undefined;
  const ring: Keyring | undefined = w.ring ? { primary: w.ring.primary, source: w.ring.source, keys: new Map(w.ring.keys.map(([kid, v]) => [kid, Buffer.from(v, 'base64')])) } : undefined;
  return { ...(w.secret ? { secret: Buffer.from(w.secret, 'base64') } : {}), ...(ring ? { ring } : {}), ...(w.rsa ? { rsa: createPrivateKey(w.rsa) } : {}) };
}

export function where(l: Listen, tls: boolean, port?: number): string {
  if ('path' in l) return `unix:${l.path}`;
  const host = l.host.includes(':') ? `[${l.host}]` : l.host;
  return `${tls ? 'https' : 'http'}://${host}:${port ?? l.port}`;
}

/** One line for a failed listen: the address and the reason in words. */
function listenProblem(l: Listen, e: NodeJS.ErrnoException): string {
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

type Conn = Socket & { _httpMessage?: unknown; [LAST_ANSWER]?: number; [TIMED_OUT]?: boolean; [SECURE]?: boolean; [SENT]?: { bytes: number; since: number } };

/** Set on a TLS connection once its handshake is done: a client error before that is the handshake's. */
const SECURE = Symbol('secure');
/** Bytes of a connection's answers the client had taken at the last check, and since when (a client that never reads). */
const SENT = Symbol('sent');

const REASONS: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' };

interface Hooks {
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
function single(c: RunConfig, worker: string, hooks: Hooks, own: boolean) {
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

/** A Unix socket path left by a server that is gone is removed; one in use, or a file that is not a socket, is refused. */
async function prepareUnix(path: string): Promise<void> {
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

function exitNow(code: number): never {
  flushLog();
  process.exit(code);
}


/**
 * Serve: one process, or with `workers` > 1 a node:cluster primary whose
 * workers share the port. Prints `listening on http(s)://HOST:PORT`.
 */
export async function serve(c: RunConfig, reloadFiles: Reload | undefined): Promise<void> {
  if ('path' in c.listen) {
    await prepareUnix(c.listen.path);
    process.umask(0o177); // the socket is made 0600, then set to its mode
  }
  if (c.workers <= 1) return serveSingle(c, reloadFiles);
  return servePrimary(c, reloadFiles);
}

function setMode(l: Listen): void {
  if ('path' in l) chmodSync(l.path, l.mode);
}

function removeSocket(l: Listen): void {
  if (!('path' in l)) return;
  try {
    if (lstatSync(l.path).isSocket()) unlinkSync(l.path);
  } catch {
    /* gone already */
  }
}

function serveSingle(c: RunConfig, reloadFiles: Reload | undefined): void {
  const info = { version: c.version, workers: 1 };
  const s = single(c, '0', {
    onListening: (port) => {
      setMode(c.listen);
      say(`aes-payload: listening on ${where(c.listen, Boolean(c.tls), port)}`);
    },
    onListenError: (e) => {
      say(listenProblem(c.listen, e));
      exitNow(EXIT_LISTEN);
    },
    metricsText: async (own) => render([own()], info),
    onDrained: () => {
      removeSocket(c.listen);
      exitNow(0);
    },
  }, true);
  const stop = () => {
    if (s.isDraining()) {
      removeSocket(c.listen);
      exitNow(130); // a second signal: at once
    }
    s.drain();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('SIGHUP', () => {
    if (!reloadFiles) {
      say('aes-payload: SIGHUP: nothing to reload (no --tls-cert/--tls-key, no --token-file)');
      return;
    }
    reloadFiles().then(
      (r) => {
        s.reload(r.tls, r.token, r.token !== undefined);
        say(`aes-payload: reloaded ${r.what}`);
      },
      (e: Error) => say(`aes-payload: reload failed, still serving with the previous certificate and token: ${e.message}`),
    );
  });
}

interface WorkerState {
  /** The config was sent (the worker was online): it handles a "stop" from now on. */
  configured: boolean;
  /** It said it is ready: it takes connections. */
  ready: boolean;
  /** The pid of the worker it replaces, if any. */
  replacing?: number;
}

/**
 * With --workers: the primary listens itself and hands each connection to a
 * worker, in turn, over IPC (as node:cluster's round robin does). So the
 * listening socket lives as long as the primary: workers that all die at
 * once are replaced on the same socket (connections wait for them), and a
 * drain closes it at once, before the workers are told.
 */
function servePrimary(c: RunConfig, reloadFiles: Reload | undefined): void {
  const sea = isSea();
  // Workers run `aes-payload serve` and take everything else from here over IPC. In the single
  // executable, argv[1] is the executable itself, which Node inserts again for the worker.
  // The executable applies its own execArgv (--disable-sigusr1, --) at every start, so a worker is
  // given none: passed again, they would reach aes-payload as arguments ("unknown option").
  cluster.setupPrimary({ serialization: 'advanced', exec: sea ? 'serve' : process.argv[1]!, args: sea ? [] : ['serve'], ...(sea ? { execArgv: [] } : {}) });
  const keys = keysToWire(c.keys);
  // What a worker started now is given: SIGHUP changes the certificate and the token, and a
  // worker started after a reload (a replacement) must get the new ones.
  let current = { tls: c.tls, token: c.token };
  const wire = () => ({ ...c, ...(current.tls ? { tls: current.tls } : {}), keys, token: current.token?.toString('base64') });
  const info = { version: c.version, workers: c.workers };
  const states = new Map<Worker, WorkerState>();
  /** Workers that take connections, in turn. */
  const ready: Worker[] = [];
  let turn = 0;
  /** Connections accepted while no worker is ready (all died at once, or not started yet). */
  const waiting: Socket[] = [];
  let stopping = false;
  let exitCode = 0;
  let announced = false;
  let port: number | undefined;
  let seq = 0;
  const asked = new Map<string, (s: Snapshot | undefined) => void>();
  const restarts: number[] = [];

  const live = () => Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
  const unready = (w: Worker) => {
    const i = ready.indexOf(w);
    if (i >= 0) ready.splice(i, 1);
  };
  const finish = (code: number) => {
    removeSocket(c.listen);
    exitNow(code);
  };

  /**
   * Connections sent to a worker that has not said it got them yet. The primary keeps its copy
   * of each (keepOpen) until then, so that one sent to a worker that dies first (killed between
   * two turns of the primary's event loop) goes to another worker instead of being lost.
   */
  const handed = new Map<Worker, Map<number, Socket>>();
  let connSeq = 0;
  const dispatch = (sock: Socket): void => {
    if (sock.destroyed) return;
    const w = ready.length ? ready[turn++ % ready.length]! : undefined;
    if (w === undefined) {
      // No worker to take it: it waits (unread, paused) for the next one ready, up to a bound.
      if (waiting.length >= c.maxConnections) sock.destroy();
      else waiting.push(sock);
      return;
    }
    const id = ++connSeq;
    let mine = handed.get(w);
    if (!mine) handed.set(w, (mine = new Map()));
    mine.set(id, sock);
    w.send({ type: 'conn', id }, sock, { keepOpen: true }, (err) => {
      if (err && mine.delete(id)) {
        unready(w);
        dispatch(sock);
      }
    });
  };
  /** A worker is gone: the connections it had not confirmed go to another one. */
  const rehand = (w: Worker) => {
    const mine = handed.get(w);
    handed.delete(w);
    for (const sock of mine?.values() ?? []) {
      if (stopping) sock.destroy();
      else dispatch(sock);
    }
  };
  const listener = createNetServer({ pauseOnConnect: true }, dispatch);
  let listening = false;
  listener.on('error', (e: NodeJS.ErrnoException) => {
    if (!listening) {
      say(listenProblem(c.listen, e));
      exitNow(EXIT_LISTEN);
    }
    say(`aes-payload: server error: ${e.code ?? e.message}`);
  });

  const gather = async (): Promise<string> => {
    const id = ++seq;
    const snaps = await Promise.all(
      live()
        .filter((w) => states.get(w)?.ready)
        .map(
          (w) =>
            new Promise<Snapshot | undefined>((resolve) => {
              const k = `${id}:${w.id}`;
              const t = setTimeout(() => {
                asked.delete(k);
                resolve(undefined);
              }, 2000);
              asked.set(k, (s) => {
                clearTimeout(t);
                asked.delete(k);
                resolve(s);
              });
              w.send({ type: 'snapshot?', id });
            }),
        ),
    );
    const got = snaps.filter((s): s is Snapshot => s !== undefined).sort((a, b) => Number(a.worker) - Number(b.worker));
    return render(got, info, runtime());
  };
  const stopAll = (code: number) => {
    if (stopping) return;
    stopping = true;
    exitCode = code;
    // Stop accepting at once, then tell each worker: every connection handed to a worker goes before
    // its "stop" on the same ordered channel, so none arrives at a worker that may have gone.
    if (listening) listener.close();
    setImmediate(() => {
      for (const s of waiting.splice(0)) s.destroy();
      for (const w of live()) {
        if (states.get(w)?.configured && w.isConnected()) w.send({ type: 'stop' });
        else w.process.kill('SIGKILL'); // not started yet: nothing in flight
      }
      if (live().length === 0) finish(exitCode);
    });
    setTimeout(() => {
      for (const w of live()) w.process.kill('SIGKILL');
      finish(exitCode);
    }, c.drainTimeout + 2000).unref();
  };
  const fork = (replacing?: number) => {
    const w = cluster.fork({ AES_PAYLOAD_SERVE_WORKER: '1' });
    const st: WorkerState = { configured: false, ready: false, ...(replacing !== undefined ? { replacing } : {}) };
    states.set(w, st);
    w.on('online', () => {
      st.configured = true;
      w.send({ type: 'config', config: wire() });
    });
    w.on('disconnect', () => unready(w));
    w.on('message', (m: { type: string; id?: number; snap?: Snapshot }) => {
      if (m.type === 'ready') {
        st.ready = true;
        if (stopping) return;
        ready.push(w);
        for (const s of waiting.splice(0)) dispatch(s);
        if (!announced && live().every((x) => states.get(x)?.ready)) {
          announced = true;
          say(`aes-payload: ${c.workers} worker processes ready`);
          say(`aes-payload: listening on ${where(c.listen, Boolean(c.tls), port)}`);
        } else if (announced && st.replacing !== undefined) {
          say(`aes-payload: worker ${w.process.pid} ready (replacing worker ${st.replacing})`);
        }
      } else if (m.type === 'got') {
        // The worker has its own copy of the connection now: close the primary's (no FIN: the worker's stays open).
        const mine = handed.get(w);
        const sock = mine?.get(m.id!);
        if (sock) {
          mine!.delete(m.id!);
          sock.destroy();
        }
      } else if (m.type === 'snapshot') {
        asked.get(`${m.id}:${w.id}`)?.(m.snap);
      } else if (m.type === 'metrics?') {
        gather().then((text) => w.isConnected() && w.send({ type: 'metrics', id: m.id, text }));
      }
    });
  };
  cluster.on('exit', (w, code, signal) => {
    const st = states.get(w);
    states.delete(w);
    unready(w);
    rehand(w);
    if (stopping) {
      if (live().length === 0) finish(exitCode);
      return;
    }
    if (!st?.ready) {
      // A worker that dies before it is ready would only die again: stop, no restart loop.
      say(`aes-payload: a worker exited before it was ready (${signal ?? `exit ${code}`}); stopping`);
      stopAll(code || EXIT_WORKER_FAILED);
      return;
    }
    const now = Date.now();
    restarts.push(now);
    while (restarts.length && restarts[0]! < now - 60_000) restarts.shift();
    if (restarts.length > 5) {
      say(`aes-payload: workers exited ${restarts.length} times in a minute; stopping`);
      stopAll(EXIT_WORKER_FAILED);
      return;
    }
    // The listening socket stays open: connections wait for the replacement.
    say(`aes-payload: worker ${w.process.pid} exited (${signal ?? `exit ${code}`}); starting another`);
    const pid = w.process.pid;
    setTimeout(() => {
      if (!stopping) fork(pid);
    }, 200);
  });
  const onListen = () => {
    listening = true;
    const a = listener.address();
    port = typeof a === 'object' && a ? a.port : undefined;
    setMode(c.listen);
    for (let i = 0; i < c.workers; i++) fork();
  };
  if ('path' in c.listen) listener.listen(c.listen.path, onListen);
  else listener.listen(c.listen.port, c.listen.host, onListen);

  // Signals are the primary's alone: workers ignore SIGTERM and SIGINT, so that a signal sent to
  // the whole process group (Ctrl-C, systemd's default) is one drain, led from here.
  const stop = () => {
    if (stopping) {
      for (const w of live()) w.process.kill('SIGKILL');
      finish(130);
    }
    stopAll(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('SIGHUP', () => {
    if (!reloadFiles) {
      say('aes-payload: SIGHUP: nothing to reload (no --tls-cert/--tls-key, no --token-file)');
      return;
    }
    reloadFiles().then(
      (r) => {
        current = { tls: r.tls ?? current.tls, token: r.token !== undefined ? r.token : current.token };
        // Workers not yet sent their config get the new material in it.
        for (const w of live()) if (states.get(w)?.configured && w.isConnected()) w.send({ type: 'reload', tls: r.tls, token: r.token?.toString('base64'), hasToken: r.token !== undefined });
        say(`aes-payload: reloaded ${r.what} (${live().length} workers)`);
      },
      (e: Error) => say(`aes-payload: reload failed, still serving with the previous certificate and token: ${e.message}`),
    );
  });
}

/** In a cluster worker: wait for the primary's config, then take the connections it hands over. */
export function serveWorker(): void {
  // Signals are the primary's: SIGHUP is a reload, SIGTERM and SIGINT a drain, which it passes on as "stop".
  // (Sent to the whole process group, they reach the primary too; a worker must neither die of them
  // nor start a drain of its own that would race the primary's.)
  process.on('SIGHUP', () => {});
  process.on('SIGTERM', () => {});
  process.on('SIGINT', () => {});
  let s: ReturnType<typeof single> | undefined;
  let seq = 0;
  const asked = new Map<number, (t: string) => void>();
  type Msg = { type: string; id: number; text?: string; tls?: { cert: string; key: string }; token?: string; hasToken?: boolean; config?: RunConfig & { keys?: Wire; token?: string } };
  process.on('message', (msg: Msg, handle?: Socket) => {
    if (s === undefined) {
      if (msg.type !== 'config' || !msg.config) {
        handle?.destroy();
        return;
      }
      const { keys, token, ...rest } = msg.config;
      const k = keysFromWire(keys);
      const c: RunConfig = { ...rest, ...(k ? { keys: k } : {}), ...(token ? { token: Buffer.from(token, 'base64') } : {}) };
      s = single(c, String(cluster.worker?.id ?? 0), {
        onListening: () => {},
        onListenError: () => {},
        // One scrape describes every worker: the primary gathers them all.
        metricsText: () =>
          new Promise<string>((resolve) => {
            const id = ++seq;
            asked.set(id, resolve);
            process.send!({ type: 'metrics?', id });
          }),
        onDrained: () => exitNow(0),
      }, false);
      process.send!({ type: 'ready' });
      return;
    }
    if (msg.type === 'conn') {
      if (handle) s.accept(handle);
      process.send!({ type: 'got', id: msg.id });
    } else if (msg.type === 'snapshot?') process.send!({ type: 'snapshot', id: msg.id, snap: s.metrics.snapshot() });
    else if (msg.type === 'metrics') {
      asked.get(msg.id)?.(msg.text!);
      asked.delete(msg.id);
    } else if (msg.type === 'stop') s.drain();
    else if (msg.type === 'reload') s.reload(msg.tls, msg.token ? Buffer.from(msg.token, 'base64') : undefined, Boolean(msg.hasToken));
  });
}
