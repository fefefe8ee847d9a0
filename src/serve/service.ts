import { randomBytes, timingSafeEqual, createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { cbcDecrypt } from '../crypto/cbc.js';
import { AesPayloadError, KeyError } from '../errors.js';
import { b64decodeStrict } from '../formats/base64.js';
import { parseJson } from '../formats/jsonSpans.js';
import { ARMOR_BEGIN } from '../formats/stream.js';
import { decrypt, encrypt, type EncryptFormat, type Keys } from '../payload.js';
import { ArmorReader } from '../stream/armor.js';
import { decryptStream } from '../stream/pipeline.js';
import { Metrics, type Route } from './metrics.js';

/**
 * The HTTP service (docs/SERVICE.md): the origin microservices' routes for
 * existing clients, and an authenticated JSON API for new ones. Loaded only
 * by `aes-payload serve`.
 */
export interface ServiceConfig {
  /** The server's keys for /v1 and /decrypt-mac; none: /v1 answers 400 ERR_KEY_MISSING. */
  keys?: Keys;
  /** Bearer token for /v1/*; none: /v1 is open (loopback only, see the exposure rules). */
  token?: Buffer;
  /** Largest request body read, in bytes (default 1 MiB). */
  maxBody: number;
  /** Serve POST /decrypt-mac (unauthenticated AES-128-CBC, for existing clients). */
  legacyCbc: boolean;
  /** One JSON line per request on stderr. */
  log: boolean;
  /** Set while shutting down: answers carry "Connection: close". */
  draining?: () => boolean;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const ROUTES: Record<string, { route: Route; methods: string[] }> = {
  '/healthz': { route: 'healthz', methods: ['GET', 'HEAD'] },
  '/metrics': { route: 'metrics', methods: ['GET'] },
  '/v1/encrypt': { route: 'v1_encrypt', methods: ['POST'] },
  '/v1/decrypt': { route: 'v1_decrypt', methods: ['POST'] },
  '/oracleinvocation': { route: 'oracleinvocation', methods: ['POST'] },
  '/oracleinvocation/': { route: 'oracleinvocation', methods: ['POST'] },
  '/decrypt-mac': { route: 'decrypt_mac', methods: ['POST'] },
};

/** Read a JSON body up to the cap, refusing other content types (415) and larger bodies (413, reading stops there). */
function readJson(req: IncomingMessage, max: number): Promise<Record<string, unknown>> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') return Promise.reject(new HttpError(415, 'ERR_CONTENT_TYPE', 'the body must be application/json'));
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > max) return Promise.reject(new HttpError(413, 'ERR_TOO_LARGE', `the body is over ${max} bytes`));
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (b: Buffer) => {
      if (done) return;
      size += b.length;
      if (size > max) {
        done = true;
        req.pause(); // stop reading at the cap; the connection is closed after the answer
        reject(new HttpError(413, 'ERR_TOO_LARGE', `the body is over ${max} bytes`));
        return;
      }
      parts.push(b);
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      let o: unknown;
      try {
        o = parseJson(Buffer.concat(parts, size).toString('utf8'), 'the request body');
      } catch (e) {
        reject(new HttpError(400, 'ERR_JSON', (e as Error).message));
        return;
      }
      if (o === null || typeof o !== 'object' || Array.isArray(o)) reject(new HttpError(400, 'ERR_REQUEST', 'the request body must be a JSON object'));
      else resolve(o as Record<string, unknown>);
    });
    req.on('error', (e) => {
      if (!done) {
        done = true;
        reject(e);
      }
    });
  });
}

/** The members of a request object: each known one typed; anything else refused. */
function fields(o: Record<string, unknown>, spec: Record<string, 'string' | 'string?'>): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const k of Object.keys(o)) if (!(k in spec)) throw new HttpError(400, 'ERR_REQUEST', `unknown member ${JSON.stringify(k.slice(0, 40))}`);
  for (const [k, t] of Object.entries(spec)) {
    const v = o[k];
    if (v === undefined) {
      if (t === 'string') throw new HttpError(400, 'ERR_REQUEST', `"${k}" is missing`);
      continue;
    }
    if (typeof v !== 'string') throw new HttpError(400, 'ERR_REQUEST', `"${k}" must be a string`);
    out[k] = v;
  }
  return out;
}

function needKeys(c: ServiceConfig): Keys {
  if (!c.keys) throw new KeyError('the server has no key configured (start it with a KEY option, or env AES_PAYLOAD_KEY)', 'ERR_KEY_MISSING');
  return c.keys;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Armored streams fit in a JSON string: decrypt them whole (bodies are small). */
async function decryptArmor(text: string, keys: Keys): Promise<{ plaintext: Buffer; kid: string }> {
  const data = Buffer.from(text, 'utf8');
  let at = 0;
  const src = { read: (b: Buffer) => { const n = data.copy(b, 0, at); at += n; return n; } };
  const parts: Buffer[] = [];
  let written = 0;
  const sink = { write: async (b: Uint8Array) => { parts.push(Buffer.from(b)); written += b.length; }, commit() {}, abort() {}, get written() { return written; } };
  const key = (kid: string) => {
    const k = keys.ring ? keys.ring.keys.get(kid) : keys.secret;
    if (!k) throw new KeyError(keys.ring ? `kid ${kid} is not in the keyring` : 'the server has no symmetric key', 'ERR_KID_UNKNOWN');
    return Buffer.from(k);
  };
  const r = await decryptStream(new ArmorReader(src), sink, key);
  return { plaintext: Buffer.concat(parts), kid: r.kid };
}

async function route(name: Route, req: IncomingMessage, c: ServiceConfig, meta: { kid?: string }): Promise<{ status: number; body: unknown; type?: string }> {
  switch (name) {
    case 'healthz':
      return { status: 200, body: { status: 'ok' } };
    case 'metrics':
      return { status: 200, body: null };
    case 'v1_encrypt': {
      const f = fields(await readJson(req, c.maxBody), { plaintext: 'string?', plaintext_b64: 'string?', aad: 'string?', format: 'string?' });
      if ((f.plaintext === undefined) === (f.plaintext_b64 === undefined)) throw new HttpError(400, 'ERR_REQUEST', 'give exactly one of "plaintext" and "plaintext_b64"');
      const format = (f.format ?? 'json') as EncryptFormat;
      if (!['json', 'raw', 'jwe'].includes(format)) throw new HttpError(400, 'ERR_REQUEST', '"format" must be json, raw or jwe');
      let pt: Buffer;
      try {
        pt = f.plaintext !== undefined ? Buffer.from(f.plaintext, 'utf8') : b64decodeStrict(f.plaintext_b64!, '"plaintext_b64"');
      } catch (e) {
        throw new HttpError(400, (e as AesPayloadError).code ?? 'ERR_REQUEST', (e as Error).message);
      }
      if (format === 'jwe' && f.aad !== undefined) throw new HttpError(400, 'ERR_REQUEST', 'the compact JWE carries no "aad"');
      const r = encrypt(pt, needKeys(c), { format, ...(f.aad !== undefined ? { aad: f.aad } : {}) });
      pt.fill(0);
      if (r.kid) meta.kid = r.kid;
      return { status: 200, body: { ciphertext: r.text } };
    }
    case 'v1_decrypt': {
      const f = fields(await readJson(req, c.maxBody), { ciphertext: 'string', aad: 'string?' });
      const keys = needKeys(c);
      let plaintext: Buffer;
      if (f.ciphertext!.trimStart().startsWith(ARMOR_BEGIN)) {
        if (f.aad !== undefined) throw new HttpError(400, 'ERR_REQUEST', 'a stream takes no "aad"');
        const r = await decryptArmor(f.ciphertext!, keys);
        plaintext = r.plaintext;
        meta.kid = r.kid;
      } else {
        const r = decrypt(f.ciphertext!, keys, f.aad !== undefined ? { aad: f.aad } : {});
        plaintext = r.plaintext;
        if (r.kid) meta.kid = r.kid;
      }
      try {
        return { status: 200, body: { plaintext: utf8.decode(plaintext) } };
      } catch {
        return { status: 200, body: { plaintext_b64: plaintext.toString('base64') } };
      } finally {
        plaintext.fill(0);
      }
    }
    case 'oracleinvocation': {
      const o = await readJson(req, c.maxBody);
      if (typeof o.data !== 'string') throw new HttpError(400, 'ERR_REQUEST', '"data" must be a string');
      // A fresh random 256-bit key for every call, in the answer (as the origin did).
      const key = randomBytes(32);
      const r = encrypt(o.data, { secret: key }, { embedKey: true });
      key.fill(0);
      return { status: 200, body: JSON.parse(r.text) };
    }
    case 'decrypt_mac':
      return decryptMac(req, c);
  }
  throw new HttpError(404, 'ERR_NOT_FOUND', 'no such route');
}

const MAC_FAILED = { status: 'error', message: 'Decryption failed' };

/**
 * The origin client/server pair's route: AES-128-CBC with the shared key and
 * the client's random "salt" as the IV. Unauthenticated: one answer and one
 * code path for every failure (bad base64 decrypts a dummy, bad padding, not
 * UTF-8), so that it says as little as a CBC oracle can.
 */
async function decryptMac(req: IncomingMessage, c: ServiceConfig): Promise<{ status: number; body: unknown }> {
  const key = needKeys(c).secret!; // checked at start: 16 bytes
  let o: Record<string, unknown> = {};
  try {
    o = await readJson(req, c.maxBody);
  } catch (e) {
    if (e instanceof HttpError && (e.status === 413 || e.status === 415)) throw e; // HTTP problems, not decryption
  }
  let ok = true;
  const bytes = (v: unknown, fallback: number): Buffer => {
    try {
      if (typeof v === 'string') {
        const b = b64decodeStrict(v, 'x');
        if (b.length) return b;
      }
    } catch {
      /* below */
    }
    ok = false;
    return Buffer.alloc(fallback);
  };
  const ct = bytes(o.encrypted_mac, 32);
  const iv = bytes(o.salt, 16);
  if (ct.length % 16 !== 0 || iv.length !== 16) ok = false;
  let mac: string | undefined;
  try {
    // Bad input still goes through a decryption, of zeros: the same path and timing as bad padding.
    mac = utf8.decode(cbcDecrypt(key, iv.length === 16 ? iv : Buffer.alloc(16), ct.length % 16 === 0 ? ct : Buffer.alloc(32)));
  } catch {
    ok = false;
  }
  if (!ok || mac === undefined) return { status: 400, body: MAC_FAILED };
  return { status: 200, body: { status: 'success', mac_address: mac } };
}

/** Status and code for an expected error: 400 for input, key and authentication problems, never 500. */
function errorAnswer(e: unknown): { status: number; code: string; message: string; headers: Record<string, string> } {
  if (e instanceof HttpError) return { status: e.status, code: e.code, message: e.message, headers: e.headers };
  if (e instanceof AesPayloadError) return { status: 400, code: e.code, message: e.message, headers: {} };
  return { status: 500, code: 'ERR_INTERNAL', message: 'internal error', headers: {} };
}

/** Constant-time bearer token check (hashes first, so the lengths do not matter). */
function tokenOk(req: IncomingMessage, token: Buffer): boolean {
  const h = req.headers.authorization ?? '';
  const m = /^Bearer ([^\s]+)$/i.exec(h);
  const given = createHash('sha256').update(m ? m[1]! : '').digest();
  const want = createHash('sha256').update(token).digest();
  return timingSafeEqual(given, want) && m !== null;
}

/**
 * The request handler.
 *
 * @example
 * ```ts
 * const { handle, metrics } = service({ keys, maxBody: 1 << 20, legacyCbc: false, log: true });
 * http.createServer(handle).listen(0, '127.0.0.1');
 * ```
 */
export function service(c: ServiceConfig, worker = '0'): { handle: (req: IncomingMessage, res: ServerResponse) => void; metrics: Metrics } {
  const metrics = new Metrics(worker);
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const start = process.hrtime.bigint();
    const path = (req.url ?? '/').split('?')[0]!;
    const known = ROUTES[path];
    const name: Route = known && (known.route !== 'decrypt_mac' || c.legacyCbc) ? known.route : 'unknown';
    const meta: { kid?: string } = {};
    metrics.inFlight(1);
    const finish = (status: number, body: Buffer, type: string, headers: Record<string, string> = {}) => {
      if (c.draining?.()) headers.connection = 'close';
      res.writeHead(status, { 'content-type': type, 'content-length': String(body.length), 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...headers });
      res.end(req.method === 'HEAD' ? undefined : body);
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      metrics.observe(name, status, ms / 1000);
      metrics.inFlight(-1);
      if (c.log) {
        // Never a body, a key or a token: the route name (not the raw URL), the status, sizes, the kid.
        process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), method: req.method, route: name, status, ms: Math.round(ms * 100) / 100, bytes: body.length, kid: meta.kid ?? null })}\n`);
      }
    };
    const answer = async () => {
      if (name === 'unknown') throw new HttpError(404, 'ERR_NOT_FOUND', 'no such route');
      if (!known!.methods.includes(req.method ?? '')) throw new HttpError(405, 'ERR_METHOD', `${req.method} is not allowed here`, { allow: known!.methods.join(', ') });
      if (name.startsWith('v1_') && c.token && !tokenOk(req, c.token)) throw new HttpError(401, 'ERR_UNAUTHORIZED', 'a valid "Authorization: Bearer <token>" is needed', { 'www-authenticate': 'Bearer' });
      if (name === 'metrics') return { status: 200, text: metrics.text() };
      return route(name, req, c, meta);
    };
    answer().then(
      (r) => {
        if ('text' in r) finish(r.status, Buffer.from(r.text), 'text/plain; version=0.0.4; charset=utf-8');
        else finish(r.status, Buffer.from(JSON.stringify(r.body)), 'application/json');
      },
      (e: unknown) => {
        const a = errorAnswer(e);
        if (a.status === 500) process.stderr.write(`aes-payload: internal error in ${name}: ${(e as Error)?.message ?? String(e)}\n`);
        // After a 413 the rest of the body is not read: close the connection.
        if (a.status === 413) a.headers.connection = 'close';
        finish(a.status, Buffer.from(JSON.stringify({ error: { code: a.code, message: a.message } })), 'application/json', a.headers);
      },
    );
  };
  return { handle, metrics };
}

