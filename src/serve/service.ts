import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { open, seal, specOf } from '../crypto/aead.js';
import { defaultAlgForKeyLength, type Alg } from '../crypto/algs.js';
import { cbcDecrypt } from '../crypto/cbc.js';
import { subkey } from '../crypto/derive.js';
import { gcmSeal } from '../crypto/gcm.js';
import { AuthError, KeyError } from '../errors.js';
import { b64decodeStrict } from '../formats/common/base64.js';
import * as envelope from '../formats/envelope/codec.js';
import * as jweCodec from '../formats/jwe/codec.js';
import * as raw from '../formats/raw/codec.js';
import { ARMOR_BEGIN } from '../formats/stream/codec.js';
import { isFieldFormat } from '../formats/fields/documents.js';
import { loadYamlFor } from '../formats/fields/yamlLoad.js';
import { keyId } from '../keys/kid.js';
import { decrypt, detectFormat, encrypt, ORIGIN_NONCE_LEN, type Keys } from '../ops/index.js';
import { ClientGone, declaredTooLarge, hasBody, mediaType, parseMembers, readBody, type Member } from './body.js';
import { CROSS_ORIGIN_REFUSED, HOST_REFUSED, crossOrigin, type HostCheck, type TrustedProxies } from './guard.js';
import { HttpError } from './http.js';
import { isoNow, logLine } from './log.js';
import { Metrics, type Route } from './metrics.js';
import { errorAnswer } from './answers.js';
import { decryptArmor } from './armor.js';
import { MAX_PIPELINED, QUEUED, targetOf, tokenOk, twice, type Target } from './request.js';
import { LAST_ANSWER, TIMED_OUT, abort, linger } from './socket.js';

export { API_CODES } from './answers.js';
export { MAX_PIPELINED, QUEUED } from './request.js';
export { LAST_ANSWER, TIMED_OUT } from './socket.js';

/**
 * The HTTP service (docs/SERVICE.md): the origin microservices' routes for
 * existing clients, and an authenticated JSON API for new ones. Loaded only
 * by `aes-payload serve`.
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

interface RouteSpec {
  route: Route;
  methods: readonly string[];
  /** Members a request body may have; undefined: no body is read. */
  members?: ReadonlySet<string>;
  /** Errors in the origin's {"status":"error","message"} shape. */
  origin?: boolean;
}

const ROUTES = new Map<string, RouteSpec>([
  ['/healthz', { route: 'healthz', methods: ['GET', 'HEAD'] }],
  ['/readyz', { route: 'readyz', methods: ['GET', 'HEAD'] }],
  ['/metrics', { route: 'metrics', methods: ['GET'] }],
  ['/v1/encrypt', { route: 'v1_encrypt', methods: ['POST'], members: new Set(['plaintext', 'plaintext_b64', 'aad', 'format']) }],
  ['/v1/decrypt', { route: 'v1_decrypt', methods: ['POST'], members: new Set(['ciphertext', 'aad']) }],
  ['/oracleinvocation', { route: 'oracleinvocation', methods: ['POST'], members: new Set(['data']) }],
  ['/oracleinvocation/', { route: 'oracleinvocation', methods: ['POST'], members: new Set(['data']) }],
  ['/decrypt-mac', { route: 'decrypt_mac', methods: ['POST'], members: new Set(['encrypted_mac', 'salt']), origin: true }],
]);

/** A key made ready once at start: its kid, and for the envelope its derived key and AAD head (no hashing or HKDF per request). */
interface ReadyKey {
  alg: Alg;
  kid: string;
  key: Uint8Array;
  envKey: Buffer;
  head: Buffer;
}

function ready(key: Uint8Array): ReadyKey | undefined {
  const alg = defaultAlgForKeyLength(key.length);
  if (!alg || !specOf(alg).authenticated) return undefined;
  const kid = keyId(key);
  return { alg, kid, key, envKey: subkey(key, 'envelope'), head: envelope.envelopeAad(alg, kid, undefined) };
}

const OK_HEALTH = '{"status":"ok"}';
const READY = '{"status":"ready"}';
const DRAINING = '{"status":"draining"}';
const MAC_FAILED = '{"status":"error","message":"Decryption failed"}';
const JSON_TYPE = 'application/json';
const METRICS_TYPE = 'text/plain; version=0.0.4; charset=utf-8';


const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Per-request facts for the log line. */
interface Meta {
  kid?: string;
}

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
  const keys = c.keys;
  // The primary key encrypts; every key decrypts, found by kid.
  const primaryKey = keys?.ring ? keys.ring.keys.get(keys.ring.primary) : keys?.secret;
  const primary = primaryKey && !keys?.rsa ? ready(primaryKey) : undefined;
  const byKid = new Map<string, ReadyKey>();
  for (const k of keys?.ring ? keys.ring.keys.values() : keys?.secret ? [keys.secret] : []) {
    const r = ready(k);
    if (r) byKid.set(r.kid, r);
  }
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
  const needKeys = (): Keys => {
    if (!keys) throw new KeyError('the server has no key configured', 'ERR_KEY_MISSING');
    return keys;
  };

  function v1Encrypt(m: Map<string, Member>, meta: Meta): string {
    const plaintext = m.get('plaintext');
    const b64 = m.get('plaintext_b64');
    if ((plaintext === undefined) === (b64 === undefined)) throw new HttpError(400, 'ERR_REQUEST', 'give exactly one of "plaintext" and "plaintext_b64"');
    const format = m.get('format')?.text() ?? 'json';
    if (format !== 'json' && format !== 'raw' && format !== 'jwe') throw new HttpError(400, 'ERR_REQUEST', '"format" must be json, raw or jwe');
    const aadM = m.get('aad');
    if (format === 'jwe' && aadM !== undefined) throw new HttpError(400, 'ERR_REQUEST', 'the compact JWE carries no "aad"');
    const pt = plaintext !== undefined ? plaintext.bytes() : b64decodeStrict(b64!.text(), '"plaintext_b64"');
    const aad = aadM?.bytes();
    let text: string;
    if (primary && format === 'json') {
      const s = seal(primary.alg, primary.envKey, pt, aad && aad.length ? Buffer.concat([primary.head, aad]) : primary.head);
      text = envelope.encode({ version: 2, alg: primary.alg, kid: primary.kid, nonce: s.nonce, data: s.ciphertext, mac: s.tag, ...(aad ? { aad } : {}) });
      meta.kid = primary.kid;
    } else if (primary && format === 'raw') {
      text = raw.encode(seal(primary.alg, primary.key, pt, aad));
      meta.kid = primary.kid;
    } else {
      const r = encrypt(pt, needKeys(), { format, ...(aad !== undefined ? { aad } : {}) });
      text = r.text;
      if (r.kid) meta.kid = r.kid;
    }
    if (plaintext === undefined) pt.fill(0); // a decoded copy; a slice of the body is the body's
    return `{"ciphertext":${JSON.stringify(text)}}`;
  }

  async function v1Decrypt(m: Map<string, Member>, meta: Meta): Promise<string> {
    const ct = m.get('ciphertext');
    if (ct === undefined) throw new HttpError(400, 'ERR_REQUEST', '"ciphertext" is missing');
    const text = ct.text();
    const aad = m.get('aad')?.bytes();
    const ks = needKeys();
    let plaintext: Buffer;
    const fast = envelope.decodeFast(text);
    const rk = fast ? byKid.get(fast.kid!) : undefined;
    if (fast && rk && rk.alg === fast.alg) {
      // The canonical envelope (no "aad" member) under a key of ours: parsed once, no kid hashing.
      try {
        plaintext = open({ alg: rk.alg, nonce: fast.nonce, ciphertext: fast.data, tag: fast.mac! }, rk.envKey, aad && aad.length ? Buffer.concat([rk.head, aad]) : rk.head);
      } catch (e) {
        if (e instanceof AuthError) throw new AuthError(`kid ${rk.kid} matches, but the data was altered`);
        throw e;
      }
      meta.kid = rk.kid;
    } else if (text.trimStart().startsWith(ARMOR_BEGIN)) {
      if (aad !== undefined) throw new HttpError(400, 'ERR_REQUEST', 'a stream takes no "aad"');
      const r = await decryptArmor(text, ks);
      plaintext = r.plaintext;
      meta.kid = r.kid;
    } else {
      await loadYamlFor(text); // a YAML field document is told apart only by the YAML parser
      const format = detectFormat(text, 'auto');
      if (isFieldFormat(format)) throw new HttpError(400, 'ERR_FIELD_DOCUMENT', 'field documents are not decrypted here (their MAC covers the whole document); decrypt them with the CLI');
      // What was sealed with an aad needs it given again (SERVICE.md), not taken from the ciphertext.
      const sealedAad = format === 'json' ? envelope.decode(text).aad !== undefined : format === 'jwe-json' ? jweCodec.decode(text).aadB64 !== undefined : false;
      if (sealedAad && aad === undefined) throw new HttpError(400, 'ERR_AAD', 'this ciphertext was sealed with additional authenticated data; give it again as "aad"');
      const r = decrypt(text, ks, { format, ...(aad !== undefined ? { aad } : {}) });
      plaintext = r.plaintext;
      if (r.kid) meta.kid = r.kid;
    }
    try {
      return `{"plaintext":${JSON.stringify(utf8.decode(plaintext))}}`;
    } catch {
      return `{"plaintext_b64":"${plaintext.toString('base64')}"}`;
    } finally {
      plaintext.fill(0);
    }
  }

  function oracle(m: Map<string, Member>): string {
    const data = m.get('data');
    if (data === undefined) throw new HttpError(400, 'ERR_REQUEST', '"data" must be a string');
    // A fresh random 256-bit key for every call, in the answer (as the origin did), and a 16-byte nonce.
    const key = randomBytes(32);
    const nonce = randomBytes(ORIGIN_NONCE_LEN);
    const s = gcmSeal(key, nonce, data.bytes());
    const text = envelope.encodeOrigin({ data: s.ciphertext, key, mac: s.tag, nonce });
    key.fill(0);
    return text;
  }

  /**
   * The origin client/server pair's route: AES-128-CBC with the shared key and
   * the client's random "salt" as the IV. Unauthenticated: one answer and one
   * code path for every failure (bad base64 decrypts a dummy, bad padding, not
   * UTF-8), so that it says as little as a CBC oracle can.
   */
  function decryptMac(m: Map<string, Member> | undefined): { status: number; body: string } {
    const key = needKeys().secret!; // checked at start: 16 bytes
    let ok = m !== undefined;
    const bytes = (v: Member | undefined, fallback: number): Buffer => {
      try {
        if (v !== undefined) {
          const b = b64decodeStrict(v.text(), 'x');
          if (b.length) return b;
        }
      } catch {
        /* below */
      }
      ok = false;
      return Buffer.alloc(fallback);
    };
    const ct = bytes(m?.get('encrypted_mac'), 32);
    const iv = bytes(m?.get('salt'), 16);
    if (ct.length % 16 !== 0 || iv.length !== 16) ok = false;
    let mac: string | undefined;
    try {
      // Bad input still goes through a decryption, of zeros: the same path and timing as bad padding.
      mac = utf8.decode(cbcDecrypt(key, iv.length === 16 ? iv : Buffer.alloc(16), ct.length % 16 === 0 ? ct : Buffer.alloc(32)));
    } catch {
      ok = false;
    }
    if (!ok || mac === undefined) return { status: 400, body: MAC_FAILED };
    return { status: 200, body: JSON.stringify({ status: 'success', mac_address: mac }) };
  }

  /** The checks every request passes before its body is read: target, Host, origin, route, method, token, media type, declared length. */
  function precheck(req: IncomingMessage, target: Target | undefined, spec: RouteSpec | undefined): HttpError | undefined {
    if (target === undefined) return new HttpError(400, 'ERR_BAD_REQUEST', 'the request target must be a path or an http(s) URL');
    // RFC 9112 §3.2: an HTTP/1.1 request without Host is refused with 400.
    if (req.headers.host === undefined && req.httpVersionMajor === 1 && req.httpVersionMinor >= 1) return new HttpError(400, 'ERR_BAD_REQUEST', 'an HTTP/1.1 request needs a Host header');
    const dup = twice(req);
    if (dup === 'host') return HOST_REFUSED();
    if (dup === 'authorization') return new HttpError(400, 'ERR_BAD_REQUEST', 'the request has more than one Authorization header');
    if (!c.hosts.ok(target.authority)) return HOST_REFUSED();
    if (crossOrigin(req, target.authority)) return CROSS_ORIGIN_REFUSED();
    if (spec === undefined) return new HttpError(404, 'ERR_NOT_FOUND', 'no such route');
    if (!spec.methods.includes(req.method!)) return new HttpError(405, 'ERR_METHOD', `${req.method} is not allowed here`, { allow: spec.methods.join(', ') });
    if (token !== undefined && (spec.route === 'v1_encrypt' || spec.route === 'v1_decrypt') && !tokenOk(req.headers.authorization, token)) {
      return new HttpError(401, 'ERR_UNAUTHORIZED', 'a valid "Authorization: Bearer <token>" is needed', { 'www-authenticate': 'Bearer' });
    }
    if (spec.members !== undefined) {
      if (mediaType(req) !== JSON_TYPE) return spec.origin ? new HttpError(400, 'ERR_MAC', 'Decryption failed') : new HttpError(415, 'ERR_CONTENT_TYPE', 'the body must be application/json');
      if (declaredTooLarge(req, c.maxBody)) return new HttpError(413, 'ERR_TOO_LARGE', `the body is over ${c.maxBody} bytes`);
    }
    return undefined;
  }

  const specOfPath = (target: Target | undefined): RouteSpec | undefined => {
    if (target === undefined) return undefined;
    const spec = ROUTES.get(target.path);
    if (spec === undefined) return undefined;
    if (spec.route === 'decrypt_mac' && !c.legacyCbc) return undefined;
    if (!c.v1 && (spec.route === 'v1_encrypt' || spec.route === 'v1_decrypt')) return undefined;
    return spec;
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
    const spec = specOfPath(target);
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
    const pre = precheck(req, target, spec);
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
          const r = decryptMac(m);
          return finish(r.status, r.body, JSON_TYPE);
        }
        const m = parseMembers(body, spec!.members!);
        if (name === 'v1_encrypt') return finish(200, v1Encrypt(m, meta), JSON_TYPE);
        if (name === 'v1_decrypt') {
          try {
            return finish(200, await v1Decrypt(m, meta), JSON_TYPE);
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
    if (!precheck(req, target, specOfPath(target))) res.writeContinue();
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

