import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Keys } from '../ops/index.js';
import { ClientGone, hasBody, parseMembers, readBody, type Member } from './body.js';
import type { HostCheck, TrustedProxies } from './guard.js';
import { HttpError } from './http.js';
import { isoNow, logLine } from './log.js';
import { Metrics, type Route } from './metrics.js';
import { errorAnswer } from './answers.js';
import { MAC_FAILED, decryptMac, oracle } from './origin.js';
import { MAX_PIPELINED, QUEUED, targetOf } from './request.js';
import { JSON_TYPE, precheck, specOfPath } from './routes.js';
import { LAST_ANSWER, TIMED_OUT, abort, linger } from './socket.js';
import { serverKeys, v1Decrypt, v1Encrypt, type Meta } from './v1.js';

export { API_CODES } from './answers.js';
export { MAX_PIPELINED, QUEUED } from './request.js';
export { LAST_ANSWER, TIMED_OUT } from './socket.js';

/**
 * The HTTP service (docs/SERVICE.md): the origin microservices' routes for
 * existing clients, and an authenticated JSON API for new ones. Loaded only
 * by `aes-payload serve`. This file dispatches a request and answers it; the
 * routes and the checks before a body is read are in `routes.ts`, the
 * handlers in `v1.ts` (the JSON API) and `origin.ts` (the origin's routes).
 */
export interface ServiceConfig {
  /** The server's keys for /v1 and /decrypt-mac (the CLI refuses to start /v1 without one). */
  keys?: Keys;
  /** Bearer token for /v1/*; none: /v1 is open (loopback only, see the exposure rules). */
  token?: Buffer;
  /** Largest request body read, in bytes. */
  maxBody: number;
  /** Serve POST /decrypt-mac (unauthenticated AES-128-CBC, for existing clients). */
  legacyCbc: boolean;
  /** Serve /v1/* (false: only the seed routes and the operational ones). */
  v1: boolean;
  /** One JSON line per request on stderr. */
  log: boolean;
  hosts: HostCheck;
  proxies: TrustedProxies;
  /** Set while shutting down: /readyz answers 503 and every answer carries "Connection: close". */
  draining: () => boolean;
  /** The /metrics text (with workers, gathered from all of them). */
  metricsText: () => Promise<string>;
}

const OK_HEALTH = '{"status":"ok"}';
const READY = '{"status":"ready"}';
const DRAINING = '{"status":"draining"}';
const METRICS_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * The request handler.
 *
 * @example
 * ```ts
 * const { handle } = service(config, '0');
 * http.createServer(handle).listen(0, '127.0.0.1');
 * ```
 */
export function service(c: ServiceConfig, worker = '0') {
  const metrics = new Metrics(worker);
  let token = c.token;
  const keys = serverKeys(c.keys);
  /** One log line for a connection closed for a client error (no request line to log). */
  const connectionLine = (socket: Socket, status: number | null, bytes: number, reason: string) => {
    if (c.log) logLine(`{"time":"${isoNow()}","client":${JSON.stringify(socket.remoteAddress ?? 'unix')},"method":null,"route":null,"status":${status},"ms":null,"bytes":${bytes},"kid":null,"reason":"${reason}"}`);
  };
  /**
   * Close a connection for a client error that has no HTTP answer (pipelining past the cap, an
   * answer never read), with a reset: a plain close would queue its FIN behind answers the client
   * does not read, so the client would never learn of it, and the kernel would keep them.
   */
  const cut = (socket: Socket, reason: string) => {
    if (socket.destroyed) return;
    metrics.clientError(reason);
    connectionLine(socket, null, 0, reason);
    // Node parses the rest of the read it is in (64 KiB: over a thousand small pipelined requests),
    // making a request and an answer object for each. The next request's callback returning -1
    // makes the parser stop there with an error instead (Node's http parser reads the number
    // onIncoming returns; an older or newer Node without it just parses the read to its end).
    const parser = (socket as Socket & { parser?: { onIncoming?: unknown } }).parser;
    if (parser && typeof parser.onIncoming === 'function') parser.onIncoming = () => -1;
    abort(socket);
  };
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const sock = req.socket as Socket & { [QUEUED]?: number };
    if (sock.destroyed) return; // cut off below: the rest of what it sent is dropped unanswered
    if (res.socket === null) {
      // Pipelined: this answer waits behind one the client has not taken yet.
      const q = (sock[QUEUED] ?? 0) + 1;
      if (q > MAX_PIPELINED) return cut(sock, 'pipelining');
      sock[QUEUED] = q;
      res.once('socket', () => {
        sock[QUEUED]!--;
      });
    }
    const start = performance.now();
    const target = targetOf(req);
    const spec = specOfPath(c, target);
    const name: Route = spec?.route ?? 'unknown';
    const meta: Meta = {};
    const client = c.log ? c.proxies.client(req) : '';
    metrics.inFlight(1);
    let bodyRead = 0;
    let done = false;
    const record = (status: number, bytes: number) => {
      const s = (performance.now() - start) / 1000;
      metrics.observe(name, status, s);
      metrics.inFlight(-1);
      if (c.log) {
        // Never a body, a key or a token: the client, the route name (not the raw URL), the status, sizes, the kid.
        logLine(`{"time":"${isoNow()}","client":${JSON.stringify(client)},"method":"${req.method}","route":"${name}","status":${status},"ms":${Math.round(s * 1e5) / 100},"bytes":${bytes},"kid":${meta.kid ? `"${meta.kid}"` : 'null'}}`);
      }
    };
    const finish = (status: number, body: string, type: string, headers?: Record<string, string>) => {
      if (done) return;
      done = true;
      const h: Record<string, string | number> = { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...headers };
      if (c.draining()) h.connection = 'close';
      if (hasBody(req) && !req.complete) {
        // The body was not (all) read: close the connection after the answer instead of reading the rest.
        h.connection = 'close';
        linger(req, res.socket, Math.max(0, c.maxBody - bodyRead));
      }
      res.writeHead(status, h);
      res.end(req.method === 'HEAD' ? undefined : body);
      (req.socket as Socket & { [LAST_ANSWER]?: number })[LAST_ANSWER] = performance.now();
      record(status, body.length);
    };
    const fail = (e: unknown, ciphertext?: string) => {
      if (e instanceof ClientGone) {
        // The client's doing, not an error of ours: nothing to answer, a log line, no error line.
        if (done) return;
        done = true;
        record((req.socket as Socket & { [TIMED_OUT]?: boolean })[TIMED_OUT] ? 408 : 499, 0);
        return;
      }
      const a = errorAnswer(e, ciphertext);
      if (a.status === 500) process.stderr.write(`aes-payload: internal error in ${name}: ${(e as Error)?.message ?? String(e)}\n`);
      if (spec?.origin) {
        if (a.status === 400) return finish(400, MAC_FAILED, JSON_TYPE, a.headers);
        return finish(a.status, JSON.stringify({ status: 'error', message: a.message }), JSON_TYPE, a.headers);
      }
      finish(a.status, `{"error":{"code":"${a.code}","message":${JSON.stringify(a.message)}}}`, JSON_TYPE, a.headers);
    };
    const pre = precheck(c, token, req, target, spec);
    if (pre) return fail(pre);
    switch (name) {
      case 'healthz':
        return finish(200, OK_HEALTH, JSON_TYPE);
      case 'readyz':
        return c.draining() ? finish(503, DRAINING, JSON_TYPE) : finish(200, READY, JSON_TYPE);
      case 'metrics':
        c.metricsText().then((t) => finish(200, t, METRICS_TYPE), fail);
        return;
    }
    readBody(req, c.maxBody).then(
      async (body) => {
        bodyRead = body.length;
        if (name === 'decrypt_mac') {
          let m: Map<string, Member> | undefined;
          try {
            m = parseMembers(body, spec!.members!);
          } catch {
            m = undefined;
          }
          const r = decryptMac(keys, m);
          return finish(r.status, r.body, JSON_TYPE);
        }
        const m = parseMembers(body, spec!.members!);
        if (name === 'v1_encrypt') return finish(200, v1Encrypt(keys, m, meta), JSON_TYPE);
        if (name === 'v1_decrypt') {
          try {
            return finish(200, await v1Decrypt(keys, m, meta), JSON_TYPE);
          } catch (e) {
            return fail(e, m.get('ciphertext')?.text());
          }
        }
        return finish(200, oracle(m), JSON_TYPE);
      },
      (e: unknown) => {
        if (e instanceof HttpError && e.status === 413) bodyRead = c.maxBody + 1;
        throw e;
      },
    ).catch((e: unknown) => fail(e));
  };

  /** For `Expect: 100-continue`: invite the body only when the request would be read. */
  const checkContinue = (req: IncomingMessage, res: ServerResponse): void => {
    const target = targetOf(req);
    if (!precheck(c, token, req, target, specOfPath(c, target))) res.writeContinue();
    handle(req, res);
  };

  return {
    handle,
    checkContinue,
    metrics,
    connectionLine,
    cut,
    /** A new token (SIGHUP), for the requests that come after. */
    setToken(t: Buffer | undefined) {
      token = t;
    },
  };
}

