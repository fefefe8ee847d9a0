import cluster from 'node:cluster';
import { createPrivateKey } from 'node:crypto';
import { createServer as createHttp, type Server } from 'node:http';
import { createServer as createHttps } from 'node:https';
import type { Keyring } from '../keys/keyring.js';
import type { Keys } from '../payload.js';
import { service } from './service.js';

/** Everything a serving process needs; sent to cluster workers over IPC (never argv or env). */
export interface RunConfig {
  host: string;
  port: number;
  tls?: { cert: string; key: string };
  keys?: Keys;
  token?: Buffer;
  maxBody: number;
  legacyCbc: boolean;
  log: boolean;
  workers: number;
  headersTimeout: number;
  requestTimeout: number;
  keepAliveTimeout: number;
  maxConnections: number;
}

/** How long a shutdown may take: in-flight requests finish, then the process exits 0. */
export const DRAIN_MS = 4500;

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

const say = (line: string) => process.stderr.write(`${line}\n`);

/** One serving process: listen, answer, and on SIGTERM/SIGINT finish what is in flight and exit 0. */
function single(c: RunConfig, worker: string, onListening?: (port: number) => void): Server {
  let draining = false;
  const { handle } = service({ ...(c.keys ? { keys: c.keys } : {}), ...(c.token ? { token: c.token } : {}), maxBody: c.maxBody, legacyCbc: c.legacyCbc, log: c.log, draining: () => draining }, worker);
  // Node checks these timeouts every connectionsCheckingInterval (30 s by default): often enough to mean them.
  const opts = {
    headersTimeout: c.headersTimeout,
    requestTimeout: c.requestTimeout,
    keepAliveTimeout: c.keepAliveTimeout,
    connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(c.headersTimeout / 4))),
    maxHeaderSize: 16 * 1024,
  };
  const server: Server = c.tls ? createHttps({ ...opts, cert: c.tls.cert, key: c.tls.key, minVersion: 'TLSv1.2' }, handle) : createHttp(opts, handle);
  server.maxConnections = c.maxConnections;
  // A client that drops its connection, or sends garbage, never takes the process down.
  server.on('clientError', (_e, socket) => {
    if (socket.writable && !socket.writableEnded) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    else socket.destroy();
  });
  server.listen(c.port, c.host, () => {
    const a = server.address();
    onListening?.(typeof a === 'object' && a ? a.port : c.port);
  });
  const stop = () => {
    if (draining) process.exit(130); // a second signal: at once
    draining = true;
    server.close(() => process.exit(0));
    server.closeIdleConnections();
    setTimeout(() => {
      server.closeAllConnections();
      process.exit(0);
    }, DRAIN_MS).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  if (cluster.isWorker) process.on('message', (m: { type?: string }) => m?.type === 'stop' && !draining && stop());
  return server;
}

function url(c: RunConfig, port: number): string {
  const host = c.host.includes(':') ? `[${c.host}]` : c.host;
  return `${c.tls ? 'https' : 'http'}://${host}:${port}`;
}

/**
 * Serve: one process, or with `workers` > 1 a node:cluster primary whose
 * workers share the port. Prints `listening on http(s)://HOST:PORT`.
 */
export function serve(c: RunConfig): void {
  if (c.workers <= 1) {
    single(c, '0', (port) => say(`aes-payload: listening on ${url(c, port)}`));
    return;
  }
  cluster.setupPrimary({ serialization: 'advanced' });
  const wire = { ...c, keys: keysToWire(c.keys), token: c.token?.toString('base64') };
  let stopping = false;
  let announced = false;
  const fork = () => {
    const w = cluster.fork({ AES_PAYLOAD_SERVE_WORKER: '1' });
    w.on('online', () => w.send({ type: 'config', config: wire }));
  };
  for (let i = 0; i < c.workers; i++) fork();
  cluster.on('listening', (_w, address) => {
    if (announced) return;
    announced = true;
    say(`aes-payload: listening on ${url(c, address.port)} (${c.workers} worker processes)`);
  });
  cluster.on('exit', (w, code) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    say(`aes-payload: worker ${w.process.pid} exited (${code}); starting another`);
    setTimeout(fork, 200);
  });
  const stop = () => {
    if (stopping) {
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGKILL');
      process.exit(130);
    }
    stopping = true;
    for (const w of Object.values(cluster.workers ?? {})) w?.send({ type: 'stop' });
    setTimeout(() => process.exit(0), DRAIN_MS + 300).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

/** In a cluster worker: wait for the primary's config, then serve. */
export function serveWorker(): void {
  process.once('message', (m: { type: string; config: RunConfig & { keys?: Wire; token?: string } }) => {
    if (m.type !== 'config') return;
    const { keys, token, ...rest } = m.config;
    const k = keysFromWire(keys);
    single({ ...rest, ...(k ? { keys: k } : {}), ...(token ? { token: Buffer.from(token, 'base64') } : {}) }, String(cluster.worker?.id ?? 0));
  });
}
