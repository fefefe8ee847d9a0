// `aes-payload serve`: real server processes on 127.0.0.1 (port 0), real
// clients: node fetch, node:http and node:https, curl, Python's http.client,
// and pycryptodome as the origin services' clients use it. Loads are bounded
// in count and time and target loopback only.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { X509Certificate, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest, Agent } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AUTH_FAILED_MESSAGE } from '../../src/errors.js';
import { BIN, HANG_MS, PYTHON, ROOT, baseEnv, run, runPeer, tempDir } from '../helpers.js';

const dir = tempDir();
const key = randomBytes(32);
const KEY = key.toString('hex');
const TOKEN = randomBytes(24).toString('base64url');
const PEER = join(ROOT, 'test/peers/peer.py');
const servers: ChildProcess[] = [];
afterAll(() => {
  for (const s of servers) s.kill('SIGKILL');
});

interface Server {
  url: string;
  proc: ChildProcess;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Start a server; resolves once it prints its listening line. */
function start(args: string[], env: Record<string, string> = { AES_PAYLOAD_KEY: KEY }): Promise<Server> {
  const proc = spawn(process.execPath, [BIN, 'serve', '--listen', '127.0.0.1:0', ...args], { env: baseEnv(env), stdio: ['ignore', 'ignore', 'pipe'] });
  servers.push(proc);
  let err = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => proc.on('exit', (code, signal) => r({ code, signal })));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line: ${err}`)), HANG_MS); // a hang backstop only
    proc.stderr!.on('data', (b: Buffer) => {
      err += b.toString();
      const m = /listening on (https?:\/\/127\.0\.0\.1:\d+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve({ url: m[1]!, proc, stderr: () => err, exited });
      }
    });
    void exited.then(() => reject(new Error(`server exited: ${err}`)));
  });
}

/** Resolves once the server at `port` refuses new connections (it has begun to drain); checked every 10 ms. */
async function refusing(port: number): Promise<void> {
  for (;;) {
    const accepted = await new Promise<boolean>((resolve) => {
      const c = connect(port, '127.0.0.1', () => {
        c.destroy();
        resolve(true);
      });
      c.on('error', () => resolve(false));
    });
    if (!accepted) return;
    await new Promise((r) => setTimeout(r, 10));
  }
}

// A fresh connection per request: the tests block the event loop with spawnSync, so a kept-alive
// socket can be closed by the server (its 5 s idle timeout) just as fetch reuses it ("other side closed").
async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: any; headers: Headers }> {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', connection: 'close', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await r.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: r.status, json, headers: r.headers };
}

describe('serve: the API', () => {
  let s: Server;
  it('starts and answers /healthz', async () => {
    s = await start(['--token-env', 'TOKEN'], { AES_PAYLOAD_KEY: KEY, TOKEN });
    const r = await fetch(`${s.url}/healthz`);
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ status: 'ok' });
  });

  const auth = () => ({ authorization: `Bearer ${TOKEN}` });

  it('/v1/encrypt answers exactly what the CLI prints, which the CLI decrypts; /v1/decrypt reverses it', async () => {
    for (const format of ['json', 'raw', 'jwe']) {
      const e = await post(`${s.url}/v1/encrypt`, { plaintext: `secret for ${format}`, format }, auth());
      expect(e.status, JSON.stringify(e.json)).toBe(200);
      const ct = e.json.ciphertext as string;
      expect(ct.endsWith('\n')).toBe(false);
      const d = run(['decrypt', ...(format === 'raw' ? ['--format', 'raw'] : [])], { env: { AES_PAYLOAD_KEY: KEY }, input: ct });
      expect(d.code, d.stderr).toBe(0);
      expect(d.out).toBe(`secret for ${format}`);
      expect((await post(`${s.url}/v1/decrypt`, { ciphertext: ct }, auth())).json).toEqual({ plaintext: `secret for ${format}` });
    }
    // and what the CLI wrote, the service reads: an envelope, an armored stream (field documents: SERVICE.md says no)
    const env = run(['encrypt'], { env: { AES_PAYLOAD_KEY: KEY }, input: 'from the CLI' }).out;
    expect((await post(`${s.url}/v1/decrypt`, { ciphertext: env }, auth())).json).toEqual({ plaintext: 'from the CLI' });
    const doc = run(['encrypt', '--fields', 'p'], { env: { AES_PAYLOAD_KEY: KEY }, input: '{"p":"x","q":1}' }).out;
    expect((await post(`${s.url}/v1/decrypt`, { ciphertext: doc }, auth())).json.error.code).toBe('ERR_FIELD_DOCUMENT');
    const armor = run(['encrypt', '--format', 'stream', '--armor'], { env: { AES_PAYLOAD_KEY: KEY }, input: 'streamed' }).out;
    expect((await post(`${s.url}/v1/decrypt`, { ciphertext: armor }, auth())).json).toEqual({ plaintext: 'streamed' });
  });

  it('binary payloads: plaintext_b64 in, plaintext_b64 out when the bytes are not UTF-8; aad is honoured', async () => {
    const bytes = Buffer.from([0, 255, 254, 10, 13]);
    const e = await post(`${s.url}/v1/encrypt`, { plaintext_b64: bytes.toString('base64'), aad: 'order-7' }, auth());
    expect(e.status).toBe(200);
    const d = await post(`${s.url}/v1/decrypt`, { ciphertext: e.json.ciphertext, aad: 'order-7' }, auth());
    expect(d.json).toEqual({ plaintext_b64: bytes.toString('base64') });
    const wrong = await post(`${s.url}/v1/decrypt`, { ciphertext: e.json.ciphertext, aad: 'order-8' }, auth());
    expect(wrong.status).toBe(400);
    expect(wrong.json.error.code).toBe('ERR_AUTH');
    expect(wrong.json.error.message.startsWith(AUTH_FAILED_MESSAGE)).toBe(true);
  });

  it('a token: missing or wrong is 401; /healthz and the seed routes need none', async () => {
    const none = await post(`${s.url}/v1/encrypt`, { plaintext: 'x' });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    expect(none.json.error.code).toBe('ERR_UNAUTHORIZED');
    expect((await post(`${s.url}/v1/encrypt`, { plaintext: 'x' }, { authorization: `Bearer ${TOKEN}x` })).status).toBe(401);
    expect((await post(`${s.url}/v1/decrypt`, { ciphertext: 'x' }, { authorization: 'Basic abc' })).status).toBe(401);
    expect((await post(`${s.url}/oracleinvocation`, { data: 'x' })).status).toBe(200);
  });

  it('errors are JSON with a code, 400 for bad input, keys and authentication; 404, 405, 413, 415', async () => {
    const cases: [unknown, string, number, string][] = [
      ['{"plaintext":', '/v1/encrypt', 400, 'ERR_JSON'],
      ['{"plaintext":"a","plaintext":"b"}', '/v1/encrypt', 400, 'ERR_JSON'],
      [[1], '/v1/encrypt', 400, 'ERR_REQUEST'],
      [{ plaintext: 5 }, '/v1/encrypt', 400, 'ERR_REQUEST'],
      [{ plaintext: 'a', plaintext_b64: 'YQ==' }, '/v1/encrypt', 400, 'ERR_REQUEST'],
      [{ plaintext_b64: 'not base64!' }, '/v1/encrypt', 400, 'ERR_BASE64'],
      [{ plaintext: 'a', extra: 1 }, '/v1/encrypt', 400, 'ERR_REQUEST'],
      [{ plaintext: 'a', format: 'stream' }, '/v1/encrypt', 400, 'ERR_REQUEST'],
      [{ ciphertext: '{"role":"admin"}' }, '/v1/decrypt', 400, 'ERR_NOT_ENCRYPTED'],
      [{ ciphertext: '{"v":2,"alg":"A256GCM","kid":"0000000000000000","nonce":"AAAAAAAAAAAAAAAA","data":"","mac":"AAAAAAAAAAAAAAAAAAAAAA=="}' }, '/v1/decrypt', 400, 'ERR_AUTH'],
      [{ ciphertext: 5 }, '/v1/decrypt', 400, 'ERR_REQUEST'],
    ];
    for (const [body, path, status, code] of cases) {
      const r = await post(`${s.url}${path}`, body, auth());
      expect(r.status, `${path} ${JSON.stringify(body)}`).toBe(status);
      expect(r.json.error.code, `${path} ${JSON.stringify(body)}`).toBe(code);
    }
    const nf = await fetch(`${s.url}/v2/encrypt`);
    expect(nf.status).toBe(404);
    expect((await nf.json()).error.code).toBe('ERR_NOT_FOUND');
    const m = await fetch(`${s.url}/v1/encrypt`, { headers: auth() });
    expect(m.status).toBe(405);
    expect(m.headers.get('allow')).toBe('POST');
    const t = await fetch(`${s.url}/v1/encrypt`, { method: 'POST', headers: { 'content-type': 'text/plain', ...auth() }, body: 'x' });
    expect(t.status).toBe(415);
    const big = await post(`${s.url}/v1/encrypt`, { plaintext: 'x'.repeat(1024 * 1024 + 10) }, auth());
    expect(big.status).toBe(413);
    expect(big.json.error.code).toBe('ERR_TOO_LARGE');
    // the decrypt-mac route is off without --legacy-cbc
    expect((await post(`${s.url}/decrypt-mac`, { encrypted_mac: 'AA==', salt: 'AA==' })).status).toBe(404);
  });

  it('a body over --max-body sent without Content-Length (chunked) is cut off at the cap', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const u = new URL(`${s.url}/v1/encrypt`);
      const req = httpRequest({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { 'content-type': 'application/json', ...auth() } }, (res) => resolve(res.statusCode!));
      req.on('error', reject);
      req.write('{"plaintext":"');
      for (let i = 0; i < 40; i++) req.write('x'.repeat(64 * 1024));
      req.end('"}');
    });
    expect(status).toBe(413);
    expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
  });

  it('/metrics: Prometheus text with requests by route and status, a latency histogram, in flight', async () => {
    const r = await fetch(`${s.url}/metrics`);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await r.text();
    expect(text).toMatch(/^aes_payload_requests_total\{route="v1_encrypt",status="200",worker="0"\} \d+$/m);
    expect(text).toMatch(/^aes_payload_request_duration_seconds_bucket\{route="v1_encrypt",le="\+Inf",worker="0"\} \d+$/m);
    expect(text).toMatch(/^aes_payload_requests_in_flight\{worker="0"\} 1$/m);
  });

  it('python http.client and curl are clients too', () => {
    const py = runPeer(PYTHON, [PEER, 'http-post', `${s.url}/oracleinvocation`], JSON.stringify({ data: 'from python' }));
    expect(py.code, py.stderr).toBe(0);
    expect(py.out.split('\n')[0]).toBe('200');
    const c = spawnSync('curl', ['-s', '-H', 'content-type: application/json', '-H', `authorization: Bearer ${TOKEN}`, '-d', '{"plaintext":"via curl"}', `${s.url}/v1/encrypt`], { encoding: 'utf8' });
    expect(run(['decrypt'], { env: { AES_PAYLOAD_KEY: KEY }, input: JSON.parse(c.stdout).ciphertext }).out).toBe('via curl');
  });

  it('32 concurrent clients: no lost or mixed-up answers', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 32 });
    const one = (i: number) =>
      new Promise<string>((resolve, reject) => {
        const u = new URL(`${s.url}/v1/encrypt`);
        const body = JSON.stringify({ plaintext: `client ${i} ${'z'.repeat(i * 31)}` });
        const req = httpRequest({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...auth() } }, (res) => {
          let t = '';
          res.on('data', (b) => (t += b));
          res.on('end', () => resolve(JSON.parse(t).ciphertext));
        });
        req.on('error', reject);
        req.end(body);
      });
    for (let round = 0; round < 4; round++) {
      const cts = await Promise.all(Array.from({ length: 32 }, (_, i) => one(i)));
      const pts = await Promise.all(cts.map((ct) => post(`${s.url}/v1/decrypt`, { ciphertext: ct }, auth())));
      pts.forEach((p, i) => expect(p.json.plaintext).toBe(`client ${i} ${'z'.repeat(i * 31)}`));
    }
    agent.destroy();
  });

  it('a dropped connection and a half-sent body never hurt later requests', async () => {
    const u = new URL(s.url);
    await new Promise<void>((resolve) => {
      const sock = connect(Number(u.port), u.hostname, () => {
        sock.write(`POST /v1/encrypt HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\nauthorization: Bearer ${TOKEN}\r\ncontent-length: 100\r\n\r\n{"plain`);
        setTimeout(() => {
          sock.destroy();
          resolve();
        }, 100);
      });
    });
    await new Promise<void>((resolve) => {
      const sock = connect(Number(u.port), u.hostname, () => sock.end('GARBAGE\r\n\r\n'));
      sock.on('close', () => resolve());
      sock.resume();
    });
    expect((await post(`${s.url}/v1/encrypt`, { plaintext: 'after' }, auth())).status).toBe(200);
  });

  it('logs one JSON line per request, with no key, token or plaintext', () => {
    const lines = s.stderr().split('\n').filter((l) => l.startsWith('{'));
    expect(lines.length).toBeGreaterThan(20);
    // (a line for a connection closed before any request, with "method": null, also says why: "reason")
    for (const l of lines) {
      const o = JSON.parse(l);
      expect(Object.keys(o)).toEqual(['time', 'client', 'method', 'route', 'status', 'ms', 'bytes', 'kid', ...(o.method === null ? ['reason'] : [])]);
    }
    const all = s.stderr();
    for (const secret of [KEY, TOKEN, 'secret for json', 'from python', 'via curl', 'client 3', key.toString('base64')]) expect(all).not.toContain(secret);
  });

  it('SIGTERM: stops accepting, finishes the request in flight, exits 0', async () => {
    const u = new URL(`${s.url}/v1/encrypt`);
    const body = JSON.stringify({ plaintext: 'in flight' });
    const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
      // "Expect: 100-continue": the server's 100 answer says it has the request in hand. Then
      // SIGTERM, and the body once the server refuses new connections (it is draining).
      const req = httpRequest({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': body.length, expect: '100-continue', ...auth() } }, (res) => {
        let t = '';
        res.on('data', (b) => (t += b));
        res.on('end', () => resolve({ status: res.statusCode!, text: t }));
      });
      req.on('error', reject);
      req.on('continue', () => {
        s.proc.kill('SIGTERM');
        void refusing(Number(u.port)).then(() => req.end(body));
      });
      req.flushHeaders();
    });
    const a = await answer;
    expect(a.status).toBe(200);
    expect(run(['decrypt'], { env: { AES_PAYLOAD_KEY: KEY }, input: JSON.parse(a.text).ciphertext }).out).toBe('in flight');
    const { code } = await s.exited;
    expect(code).toBe(0);
    await expect(fetch(`${s.url}/healthz`)).rejects.toThrow();
  });

  it('a second signal while draining exits at once with 130', async () => {
    const t = await start([]);
    const u = new URL(`${t.url}/v1/encrypt`);
    // A request that never completes keeps the drain waiting.
    const req = httpRequest({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': 100, expect: '100-continue' } });
    req.on('error', () => {});
    await new Promise((r) => {
      req.on('continue', r); // the server has the request in hand
      req.flushHeaders();
    });
    req.write('{"plaintext":');
    t.proc.kill('SIGTERM');
    await refusing(Number(u.port));
    expect(t.proc.exitCode).toBeNull(); // still draining
    t.proc.kill('SIGINT');
    const { code } = await t.exited;
    expect(code).toBe(130); // at once: the drain would have ended with 0
    req.destroy();
  });
});

describe('serve: the origin services\' clients', () => {
  it('/oracleinvocation and /oracleinvocation/: a fresh 256-bit key and a 16-byte nonce, which pycryptodome decrypts unchanged', async () => {
    const s = await start(['--no-v1'], {});
    const keys = new Set<string>();
    for (const path of ['/oracleinvocation', '/oracleinvocation/', '/oracleinvocation']) {
      const r = await post(`${s.url}${path}`, { data: 'hello from the origin client' });
      expect(r.status).toBe(200);
      expect(Object.keys(r.json)).toEqual(['data', 'key', 'mac', 'nonce']);
      expect(Buffer.from(r.json.key, 'base64').length).toBe(32);
      expect(Buffer.from(r.json.nonce, 'base64').length).toBe(16);
      keys.add(r.json.key);
      const d = runPeer(PYTHON, [PEER, 'origin-gcm-decrypt'], JSON.stringify(r.json));
      expect(d.code, d.stderr).toBe(0);
      expect(d.out).toBe('hello from the origin client');
    }
    expect(keys.size).toBe(3);
    // with no key configured (--no-v1), there is no /v1
    const v1 = await post(`${s.url}/v1/encrypt`, { plaintext: 'x' });
    expect(v1.status).toBe(404);
    s.proc.kill('SIGTERM');
    expect((await s.exited).code).toBe(0);
  });

  it('/decrypt-mac with --legacy-cbc: the pycryptodome CBC client works; every failure is the same 400', async () => {
    const k16 = randomBytes(16).toString('hex');
    const s = await start(['--legacy-cbc'], { AES_PAYLOAD_KEY: k16 });
    expect(s.stderr()).toMatch(/warning: POST \/decrypt-mac is unauthenticated AES-128-CBC/);
    const body = runPeer(PYTHON, [PEER, 'mac-client', k16], '00:1a:2b:3c:4d:5e').out;
    const ok = await post(`${s.url}/decrypt-mac`, JSON.parse(body));
    expect(ok).toMatchObject({ status: 200, json: { status: 'success', mac_address: '00:1a:2b:3c:4d:5e' } });
    const good = JSON.parse(body) as { encrypted_mac: string; salt: string };
    const ct = Buffer.from(good.encrypted_mac, 'base64');
    ct[ct.length - 1]! ^= 1;
    const failures = [
      { ...good, encrypted_mac: ct.toString('base64') }, // bad padding (almost surely)
      { ...good, encrypted_mac: '!!not base64' },
      { ...good, salt: 'AAAA' },
      { encrypted_mac: good.encrypted_mac },
      {},
      '{not json',
    ];
    for (const f of failures) {
      const r = await post(`${s.url}/decrypt-mac`, f);
      expect(r.status, JSON.stringify(f)).toBe(400);
      expect(r.json).toEqual({ status: 'error', message: 'Decryption failed' });
    }
    s.proc.kill('SIGTERM');
    await s.exited;
  });
});

describe('serve: TLS', () => {
  it('--tls-self-signed: a client that trusts --tls-cert-out connects (node, curl); one that does not is rejected; the fingerprint is printed', async () => {
    const certOut = join(dir, 'dev.pem');
    const s = await start(['--tls-self-signed', '--tls-cert-out', certOut]);
    expect(s.url.startsWith('https://')).toBe(true);
    const cert = readFileSync(certOut, 'utf8');
    expect(cert).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(cert).not.toMatch(/PRIVATE/);
    const x = new X509Certificate(cert);
    expect(s.stderr()).toContain(`SHA-256 fingerprint ${x.fingerprint256}`);
    expect(x.subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1');
    expect(x.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    const get = (ca?: string) =>
      new Promise<number>((resolve, reject) => {
        const u = new URL(`${s.url}/healthz`);
        const req = httpsRequest({ host: u.hostname, port: u.port, path: u.pathname, ...(ca ? { ca } : {}) }, (res) => {
          res.resume();
          resolve(res.statusCode!);
        });
        req.on('error', reject);
        req.end();
      });
    expect(await get(cert)).toBe(200);
    await expect(get()).rejects.toThrow(/self[- ]signed|unable to verify/i);
    expect(spawnSync('curl', ['-s', '--cacert', certOut, `${s.url}/healthz`], { encoding: 'utf8' }).stdout).toBe('{"status":"ok"}');
    expect(spawnSync('curl', ['-s', `${s.url}/healthz`]).status).not.toBe(0);
    s.proc.kill('SIGTERM');
    await s.exited;
  });

  it('--tls-cert and --tls-key with a certificate made by openssl', async () => {
    const c = join(dir, 'c.pem');
    const k = join(dir, 'k.pem');
    const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', k, '-out', c, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const s = await start(['--tls-cert', c, '--tls-key', k]);
    expect(spawnSync('curl', ['-s', '--cacert', c, `${s.url}/healthz`], { encoding: 'utf8' }).stdout).toBe('{"status":"ok"}');
    s.proc.kill('SIGTERM');
    await s.exited;
  });
});

describe('serve: exposure rules and limits', () => {
  it('refuses a non-loopback address without TLS or without a token (exit 2), and says why', () => {
    const plain = run(['serve', '--listen', '0.0.0.0:0', '--token-env', 'T'], { env: { T: TOKEN } });
    expect(plain.code).toBe(2);
    expect(plain.stderr).toMatch(/refusing to listen on 0\.0\.0\.0.*without TLS/);
    const c = join(dir, 'x.pem');
    writeFileSync(c, '');
    const noToken = run(['serve', '--listen', '0.0.0.0:0', '--tls-self-signed']);
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toMatch(/without a token/);
    expect(run(['serve', '--listen', '[::]:0']).code).toBe(2);
    expect(run(['serve', '--listen', 'nope']).code).toBe(2);
    expect(run(['serve', '--passphrase-env', 'P'], { env: { P: 'a passphrase here' } }).code).toBe(2);
  });

  it('a slow client (slowloris) is cut off after --headers-timeout, while others are served', async () => {
    const s = await start(['--headers-timeout', '1000', '--request-timeout', '2000']);
    const u = new URL(s.url);
    const closedAfter = new Promise<number>((resolve) => {
      const t0 = Date.now();
      const sock = connect(Number(u.port), u.hostname, () => {
        sock.write('GET /healthz HTTP/1.1\r\nhost: x\r\n');
        const drip = setInterval(() => sock.writable && sock.write('x-slow: 1\r\n'), 300);
        sock.on('close', () => {
          clearInterval(drip);
          resolve(Date.now() - t0);
        });
      });
      sock.on('error', () => {});
      sock.resume();
    });
    expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
    // The server closes it (a client that never stops dripping headers would otherwise keep it open for good).
    expect(await closedAfter).toBeGreaterThan(0);
    s.proc.kill('SIGTERM');
    await s.exited;
  });

  it('--workers 2: one port, both processes answer, and SIGTERM stops them all (exit 0)', async () => {
    const s = await start(['--workers', '2', '--quiet']);
    expect(s.stderr()).toMatch(/2 worker processes/);
    // every scrape holds both workers' series (test/serve/ops.test.ts has the sums)
    const m = await (await fetch(`${s.url}/metrics`, { headers: { connection: 'close' } })).text();
    expect(new Set([...m.matchAll(/^aes_payload_requests_in_flight\{worker="(\d+)"\}/gm)].map((x) => x[1]))).toEqual(new Set(['1', '2']));
    const r = await post(`${s.url}/v1/encrypt`, { plaintext: 'cluster' });
    expect(run(['decrypt'], { env: { AES_PAYLOAD_KEY: KEY }, input: r.json.ciphertext }).out).toBe('cluster');
    expect(s.stderr()).not.toMatch(/^\{"time"/m); // --quiet: no request logs
    // The workers got the key over IPC: it is in no worker's environment.
    const kids = spawnSync('pgrep', ['-P', String(s.proc.pid)], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean);
    expect(kids.length).toBe(2);
    for (const pid of kids) expect(readFileSync(`/proc/${pid}/environ`, 'latin1')).not.toContain(KEY);
    s.proc.kill('SIGTERM');
    expect((await s.exited).code).toBe(0);
  });
});
