import cluster, { type Worker } from 'node:cluster';
import { createPrivateKey } from 'node:crypto';
import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { createServer as createHttp, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttps, type Server as HttpsServer } from 'node:https';
import { connect, Server as NetServer, type Socket } from 'node:net';
import type { Keyring } from '../keys/keyring.js';
import type { Keys } from '../payload.js';
import { HostCheck, TrustedProxies } from './guard.js';
import { flushLog, isoNow, logLine, say } from './log.js';
import { render, runtime, type Snapshot } from './metrics.js';
import { LAST_ANSWER, service, TIMED_OUT } from './service.js';

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

type Conn = Socket & { _httpMessage?: unknown; [LAST_ANSWER]?: number; [TIMED_OUT]?: boolean };

const REASONS: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' };

interface Hooks {
  onListening(port: number | undefined): void;
  onListenError(e: NodeJS.ErrnoException): void;
  metricsText: (own: () => Snapshot) => Promise<string>;
  onDrained(): void;
}

/**
 * One serving process: listen, answer, and on a drain stop accepting,
 * answer every request already received (the last answers with
 * "Connection: close"), close idle connections, then call onDrained.
 */
function single(c: RunConfig, worker: string, hooks: Hooks) {
  let draining = false;
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
  const opts = {
    headersTimeout: c.headersTimeout,
    requestTimeout: c.requestTimeout,
    keepAliveTimeout: c.keepAliveTimeout,
    connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(c.headersTimeout / 4))),
    maxHeaderSize: 16 * 1024,
  };
  const server: Server | HttpsServer = c.tls
    ? createHttps({ ...opts, cert: c.tls.cert, key: c.tls.key, minVersion: 'TLSv1.2', handshakeTimeout: c.headersTimeout }, svc.handle)
    : createHttp(opts, svc.handle);
  server.on('checkContinue', svc.checkContinue);
  server.maxConnections = c.maxConnections;
  const conns = new Set<Conn>();
  svc.metrics.connections = () => conns.size;
  server.on(c.tls ? 'secureConnection' : 'connection', (s: Conn) => {
    s[LAST_ANSWER] = performance.now();
    void s.remoteAddress; // read now: Node keeps it, and a log line after a reset still names the client
    conns.add(s);
    s.once('close', () => conns.delete(s));
    if (draining) s.destroy();
  });
  // A timed-out, malformed or oversized request: answer if nothing was sent yet, then destroy the
  // socket (never a half-close that keeps the slot: slowloris), with a log line naming the client.
  server.on('clientError', (e: NodeJS.ErrnoException, socket: Conn) => {
    const code = e.code ?? '';
    if (code === 'ECONNRESET' || code === 'EPIPE' || !socket.writable) {
      socket.destroy();
      return;
    }
    const status = code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    svc.metrics.clientError(status === 408 ? 'timeout' : status === 431 ? 'headers_too_large' : 'bad_request');
    if (status === 408) socket[TIMED_OUT] = true;
    const inRequest = socket._httpMessage as ServerResponse | null | undefined;
    if (!inRequest || !inRequest.headersSent) {
      const body = `{"error":{"code":"${status === 408 ? 'ERR_TIMEOUT' : status === 431 ? 'ERR_HEADERS_TOO_LARGE' : 'ERR_BAD_REQUEST'}","message":"${REASONS[status]!.toLowerCase()}"}}`;
      socket.write(`HTTP/1.1 ${status} ${REASONS[status]}\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\ncache-control: no-store\r\n\r\n${body}`);
    }
    // A request in progress gets its own log line (as 408) when its body reading fails.
    if (!inRequest && c.log) logLine(`{"time":"${isoNow()}","client":${JSON.stringify(socket.remoteAddress ?? 'unix')},"method":null,"route":null,"status":${status},"ms":null,"bytes":0,"kid":null}`);
    // An answer already written is flushed on the next tick (Node corks it): destroy after that.
    if (inRequest?.headersSent) setImmediate(() => socket.destroy());
    else socket.destroy();
  });
  if (c.tls) server.on('tlsClientError', (_e: Error, s: Socket) => {
    svc.metrics.clientError('tls');
    s.destroy();
  });
  let listening = false;
  server.on('error', (e: NodeJS.ErrnoException) => {
    if (!listening) hooks.onListenError(e);
    else say(`aes-payload: server error: ${e.code ?? e.message}`);
  });
  const cb = () => {
    listening = true;
    const a = server.address();
    hooks.onListening(typeof a === 'object' && a ? a.port : undefined);
  };
  if ('path' in c.listen) server.listen(c.listen.path, cb);
  else server.listen(c.listen.port, c.listen.host, cb);

  const drain = () => {
    if (draining) return;
    draining = true;
    // Stop accepting; net.Server's close, as http's would also close idle connections at once
    // (a request already sent on one would be lost) and stop the timeout checks.
    NetServer.prototype.close.call(server, () => hooks.onDrained());
    const idle = c.keepAliveTimeout > 0 ? Math.min(DRAIN_IDLE_MS, c.keepAliveTimeout) : DRAIN_IDLE_MS;
    const began = performance.now();
    if (listening) say(`aes-payload: draining: ${conns.size} connection${conns.size === 1 ? '' : 's'} open${worker !== '0' ? ` (worker ${worker})` : ''}`);
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
      if (busy) say(`aes-payload: the drain took over ${c.drainTimeout} ms; closed ${busy} connection${busy === 1 ? '' : 's'} with a request in progress`);
      hooks.onDrained();
    }, c.drainTimeout).unref();
  };
  const reload = (tls: { cert: string; key: string } | undefined, token: Buffer | undefined, hasToken: boolean) => {
    if (tls && 'setSecureContext' in server) (server as HttpsServer).setSecureContext({ cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' });
    if (hasToken) svc.setToken(token);
  };
  return { server, drain, reload, metrics: svc.metrics, isDraining: () => draining };
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

/** Whether this is the single executable (Node SEA). */
function isSea(): boolean {
  try {
    return (process.getBuiltinModule('node:sea') as unknown as { isSea(): boolean } | undefined)?.isSea() ?? false;
  } catch {
    return false;
  }
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
  });
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
  listening: boolean;
}

function servePrimary(c: RunConfig, reloadFiles: Reload | undefined): void {
  const sea = isSea();
  // Workers run `aes-payload serve` and take everything else from here over IPC. In the single
  // executable, argv[1] is the executable itself, which Node inserts again for the worker.
  cluster.setupPrimary({ serialization: 'advanced', exec: sea ? 'serve' : process.argv[1]!, args: sea ? [] : ['serve'] });
  const wire = { ...c, keys: keysToWire(c.keys), token: c.token?.toString('base64') };
  const info = { version: c.version, workers: c.workers };
  const states = new Map<Worker, WorkerState>();
  let stopping = false;
  let exitCode = 0;
  let announced = false;
  let seq = 0;
  const waiting = new Map<string, (s: Snapshot | undefined) => void>();
  const restarts: number[] = [];

  const live = () => Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
  const gather = async (): Promise<string> => {
    const id = ++seq;
    const snaps = await Promise.all(
      live()
        .filter((w) => states.get(w)?.listening)
        .map(
          (w) =>
            new Promise<Snapshot | undefined>((resolve) => {
              const k = `${id}:${w.id}`;
              const t = setTimeout(() => {
                waiting.delete(k);
                resolve(undefined);
              }, 2000);
              waiting.set(k, (s) => {
                clearTimeout(t);
                waiting.delete(k);
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
    for (const w of live()) w.send({ type: 'stop' });
    if (live().length === 0) exitNow(code);
    setTimeout(() => {
      for (const w of live()) w.process.kill('SIGKILL');
      exitNow(exitCode);
    }, c.drainTimeout + 2000).unref();
  };
  const fork = () => {
    const w = cluster.fork({ AES_PAYLOAD_SERVE_WORKER: '1' });
    states.set(w, { listening: false });
    w.on('online', () => w.send({ type: 'config', config: wire }));
    w.on('message', (m: { type: string; id?: number; snap?: Snapshot; code?: number; message?: string }) => {
      if (m.type === 'listening') {
        states.get(w)!.listening = true;
        if (!announced && live().every((x) => states.get(x)?.listening)) {
          announced = true;
          setMode(c.listen);
          say(`aes-payload: listening on ${where(c.listen, Boolean(c.tls), m.id)} (${c.workers} worker processes)`);
        }
      } else if (m.type === 'fatal') {
        if (!stopping) say(m.message!);
        stopAll(m.code ?? EXIT_WORKER_FAILED);
      } else if (m.type === 'snapshot') {
        waiting.get(`${m.id}:${w.id}`)?.(m.snap);
      } else if (m.type === 'metrics?') {
        gather().then((text) => w.isConnected() && w.send({ type: 'metrics', id: m.id, text }));
      }
    });
  };
  for (let i = 0; i < c.workers; i++) fork();
  cluster.on('exit', (w, code, signal) => {
    const st = states.get(w);
    states.delete(w);
    if (stopping) {
      if (live().length === 0) {
        removeSocket(c.listen);
        exitNow(exitCode);
      }
      return;
    }
    if (!st?.listening) {
      // A worker that dies before it listens would only die again: stop, no restart loop.
      say(`aes-payload: a worker exited before listening (${signal ?? `exit ${code}`}); stopping`);
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
    say(`aes-payload: worker ${w.process.pid} exited (${signal ?? `exit ${code}`}); starting another`);
    setTimeout(fork, 200);
  });
  const stop = () => {
    if (stopping) {
      for (const w of live()) w.process.kill('SIGKILL');
      removeSocket(c.listen);
      exitNow(130);
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
        for (const w of live()) w.send({ type: 'reload', tls: r.tls, token: r.token?.toString('base64'), hasToken: r.token !== undefined });
        say(`aes-payload: reloaded ${r.what} (${live().length} workers)`);
      },
      (e: Error) => say(`aes-payload: reload failed, still serving with the previous certificate and token: ${e.message}`),
    );
  });
}

/** In a cluster worker: wait for the primary's config, then serve. */
export function serveWorker(): void {
  // SIGHUP is the primary's (a reload); a worker must not die of it.
  process.on('SIGHUP', () => {});
  process.once('message', (m: { type: string; config: RunConfig & { keys?: Wire; token?: string } }) => {
    if (m.type !== 'config') return;
    const { keys, token, ...rest } = m.config;
    const k = keysFromWire(keys);
    const c: RunConfig = { ...rest, ...(k ? { keys: k } : {}), ...(token ? { token: Buffer.from(token, 'base64') } : {}) };
    let seq = 0;
    const asked = new Map<number, (t: string) => void>();
    const s = single(c, String(cluster.worker?.id ?? 0), {
      onListening: (port) => process.send!({ type: 'listening', id: port }),
      onListenError: (e) => {
        process.send!({ type: 'fatal', code: EXIT_LISTEN, message: listenProblem(c.listen, e) }, () => exitNow(EXIT_LISTEN));
      },
      // One scrape describes every worker: the primary gathers them all.
      metricsText: () =>
        new Promise<string>((resolve) => {
          const id = ++seq;
          asked.set(id, resolve);
          process.send!({ type: 'metrics?', id });
        }),
      onDrained: () => exitNow(0),
    });
    process.on('message', (msg: { type: string; id: number; text?: string; tls?: { cert: string; key: string }; token?: string; hasToken?: boolean }) => {
      if (msg.type === 'snapshot?') process.send!({ type: 'snapshot', id: msg.id, snap: s.metrics.snapshot() });
      else if (msg.type === 'metrics') {
        asked.get(msg.id)?.(msg.text!);
        asked.delete(msg.id);
      } else if (msg.type === 'stop') s.drain();
      else if (msg.type === 'reload') s.reload(msg.tls, msg.token ? Buffer.from(msg.token, 'base64') : undefined, Boolean(msg.hasToken));
    });
    const stop = () => {
      if (s.isDraining()) exitNow(130);
      s.drain();
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    // The primary gone (killed): finish what is in flight, then go.
    process.on('disconnect', () => s.drain());
  });
}
