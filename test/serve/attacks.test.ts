// `aes-payload serve` attacked from outside (issue 19): slow sockets, huge
// Content-Length on every kind of answer, DNS rebinding and browsers'
// cross-origin requests, odd bodies, and /v1/decrypt held to SERVICE.md.
// Real servers on 127.0.0.1; clients are raw sockets, node:http, curl.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { run } from '../helpers.js';
import { connectTo, postBytes, rawRequest, startServer, type Server } from './helpers.js';

const KEY = randomBytes(32).toString('hex');
const TOKEN = randomBytes(24).toString('base64url');
const env = { AES_PAYLOAD_KEY: KEY, TOKEN };
const auth = { authorization: `Bearer ${TOKEN}` };

/** Collect what the server sends on `sock` until it closes the connection. */
function untilClosed(sock: import('node:net').Socket): Promise<string> {
  return new Promise((resolve) => {
    let t = '';
    sock.on('data', (b) => (t += b.toString('latin1')));
    sock.on('error', () => {});
    sock.on('close', () => resolve(t));
  });
}

async function answer(s: Server, req: Buffer | string): Promise<{ status: number; headers: Record<string, string>; json: any }> {
  const sock = await connectTo(s.port);
  try {
    const a = await rawRequest(sock, req);
    let json: unknown;
    try {
      json = JSON.parse(a.body);
    } catch {
      json = a.body;
    }
    return { status: a.status, headers: a.headers, json };
  } finally {
    sock.destroy();
  }
}

describe('serve: slow and idle sockets (slowloris)', () => {
  it('sockets that never finish their headers get 408 and are closed; their slots come back', async () => {
    const s = await startServer(['--max-connections', '4', '--headers-timeout', '1000', '--request-timeout', '2000', '--quiet'], env);
    const socks = await Promise.all([0, 1, 2, 3].map(() => connectTo(s.port)));
    const closed = socks.map(untilClosed);
    // Two send part of a request line, two send nothing at all.
    socks[0]!.write('POST /v1/enc');
    socks[1]!.write('GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\nx-slow: ');
    const texts = await Promise.all(closed); // before the fix: answered 400 with a half-close, kept forever
    expect(texts[0]).toMatch(/^HTTP\/1\.1 408 /);
    expect(texts[1]).toMatch(/^HTTP\/1\.1 408 /);
    // the slots are back: four new connections are answered
    const again = await Promise.all(
      [0, 1, 2, 3].map(async () => {
        const sk = await connectTo(s.port);
        const a = await rawRequest(sk, 'GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n');
        sk.destroy();
        return a.status;
      }),
    );
    expect(again).toEqual([200, 200, 200, 200]);
    const m = await (await fetch(`${s.url}/metrics`)).text();
    expect(m).toMatch(/^aes_payload_client_errors_total\{reason="timeout",worker="0"\} [2-9]$/m);
    s.proc.kill('SIGTERM');
    expect((await s.exited).code).toBe(0);
  });

  it('TLS: connections that never start the handshake are closed after --headers-timeout', async () => {
    const s = await startServer(['--tls-self-signed', '--max-connections', '3', '--headers-timeout', '1000', '--quiet'], env);
    const socks = await Promise.all([0, 1, 2].map(() => connectTo(s.port)));
    await Promise.all(socks.map(untilClosed));
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpsRequest({ host: '127.0.0.1', port: s.port, path: '/healthz', rejectUnauthorized: false }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(200);
    s.proc.kill('SIGTERM');
    await s.exited;
  });
});

/** Send the head, then body bytes as fast as the server takes them, until it closes or `limit` bytes went out. */
function push(port: number, head: string, chunked = false, limit = 256 * 1024 * 1024): Promise<{ written: number; closed: boolean; text: string }> {
  return new Promise((resolve) => {
    const data = Buffer.alloc(64 * 1024, 0x61);
    const chunk = chunked ? Buffer.concat([Buffer.from('10000\r\n'), data, Buffer.from('\r\n')]) : data;
    let written = 0;
    let closed = false;
    let text = '';
    const s = connect(port, '127.0.0.1');
    const finish = () => resolve({ written, closed, text });
    s.on('data', (b) => (text += b.toString('latin1')));
    s.on('error', () => {});
    s.on('close', () => {
      closed = true;
      finish();
    });
    const pump = () => {
      while (!s.destroyed && written < limit) {
        written += chunk.length;
        if (!s.write(chunk)) return void s.once('drain', pump);
      }
      if (written >= limit) {
        s.destroy();
      }
    };
    s.on('connect', () => {
      s.write(head);
      pump();
    });
  });
}

describe('serve: the body cap holds on every answer', () => {
  let s: Server;
  it('starts', async () => {
    s = await startServer(['--token-env', 'TOKEN', '--max-body', '1024', '--quiet'], env);
  });
  const cases: [string, string, number][] = [
    ['401 (no token)', 'POST /v1/encrypt HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n', 401],
    ['404', 'POST /nowhere HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n', 404],
    ['405', `PUT /v1/encrypt HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${TOKEN}\r\n`, 405],
    ['415', `POST /v1/encrypt HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${TOKEN}\r\ncontent-type: text/plain\r\n`, 415],
    ['413', `POST /v1/encrypt HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${TOKEN}\r\ncontent-type: application/json\r\n`, 413],
    ['421 (bad Host)', 'POST /v1/encrypt HTTP/1.1\r\nhost: rebind.attacker.example\r\ncontent-type: application/json\r\n', 421],
  ];
  it('a 2 GB Content-Length on a 401, 404, 405, 415, 413 or 421 answer: answered, then the connection closes long before the body is read', async () => {
    const rs = await Promise.all(cases.map(([, head]) => push(s.port, `${head}content-length: 2000000000\r\n\r\n`)));
    rs.forEach((r, i) => {
      const [what, , status] = cases[i]!;
      expect(r.closed, what).toBe(true);
      expect(r.written, what).toBeLessThan(32 * 1024 * 1024); // socket buffers; before the fix the server read on and on
      expect(r.text, what).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
      expect(r.text.toLowerCase(), what).toContain('connection: close');
    });
  });
  it('the same without Content-Length (chunked, endless)', async () => {
    const r = await push(s.port, 'POST /v1/encrypt HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n', true);
    expect(r.closed).toBe(true);
    expect(r.written).toBeLessThan(32 * 1024 * 1024);
    expect(r.text).toMatch(/^HTTP\/1\.1 401 /);
  });
  it('curl with an endless upload (Expect: 100-continue) gets the refusal without sending the body', () => {
    const c = spawnSync('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code} %{size_upload}', '-X', 'POST', '-H', 'content-type: application/json', '-T', '/dev/zero', `${s.url}/v1/encrypt`], { encoding: 'utf8', timeout: 30_000 });
    const [code, sent] = c.stdout.split(' ');
    expect(code).toBe('401');
    expect(Number(sent)).toBeLessThan(32 * 1024 * 1024);
  });
  it('and the server still answers', async () => {
    expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
    s.proc.kill('SIGTERM');
    expect((await s.exited).code).toBe(0);
  });
});

describe('serve: DNS rebinding and cross-origin browsers', () => {
  let s: Server;
  let ct: string;
  it('a tokenless server on loopback', async () => {
    s = await startServer(['--allowed-host', 'api.internal,.svc.example', '--quiet'], env);
    ct = run(['encrypt'], { env: { AES_PAYLOAD_KEY: KEY }, input: 'the secret' }).out;
  });
  const dec = (headers: Record<string, string>) => postBytes('/v1/decrypt', JSON.stringify({ ciphertext: ct }), headers);
  it('a Host that is not ours (a rebound name) is refused with 421 and no plaintext', async () => {
    for (const host of ['rebind.attacker.example', 'rebind.attacker.example:' + s.port, 'localhost.attacker.example', 'api.internal.attacker.example', 'svc.example.evil', '']) {
      const r = await answer(s, dec({ host }));
      expect(r.status, host).toBe(421);
      expect(r.json.error.code).toBe('ERR_HOST');
      expect(JSON.stringify(r.json)).not.toContain('the secret');
    }
    // two Host headers (Node would keep the first): refused as well
    const two = await answer(s, Buffer.from(dec({ host: '127.0.0.1' }).toString('latin1').replace('host: 127.0.0.1\r\n', 'host: 127.0.0.1\r\nHost: rebind.attacker.example\r\n'), 'latin1'));
    expect(two.status).toBe(421);
    const c = spawnSync('curl', ['-s', '-H', 'Host: rebind.attacker.example', '-H', 'content-type: application/json', '-d', JSON.stringify({ ciphertext: ct }), `${s.url}/v1/decrypt`], { encoding: 'utf8' });
    expect(JSON.parse(c.stdout).error.code).toBe('ERR_HOST');
  });
  it('IP literals, localhost and --allowed-host names (with subdomains for a leading dot) are served', async () => {
    for (const host of [`127.0.0.1:${s.port}`, '127.0.0.1', `localhost:${s.port}`, 'LOCALHOST', `[::1]:${s.port}`, '10.1.2.3', 'api.internal', 'a.svc.example', 'svc.example:443']) {
      const r = await answer(s, dec({ host }));
      expect(r.status, host).toBe(200);
      expect(r.json.plaintext).toBe('the secret');
    }
  });
  it('browsers\' cross-origin requests are refused with 403; same-origin and non-browser ones are served', async () => {
    const host = `127.0.0.1:${s.port}`;
    for (const h of [{ origin: 'http://evil.example' }, { origin: 'null' }, { origin: `http://127.0.0.1:${s.port + 1}` }, { 'sec-fetch-site': 'cross-site' }, { 'sec-fetch-site': 'same-site' }]) {
      const r = await answer(s, dec({ host, ...h }));
      expect(r.status, JSON.stringify(h)).toBe(403);
      expect(r.json.error.code).toBe('ERR_CROSS_ORIGIN');
    }
    for (const h of [{ origin: `http://${host}` }, { 'sec-fetch-site': 'same-origin' }, { 'sec-fetch-site': 'none' }, {}]) {
      expect((await answer(s, dec({ host, ...h }))).status, JSON.stringify(h)).toBe(200);
    }
    s.proc.kill('SIGTERM');
    await s.exited;
  });
});

describe('serve: strict request bodies', () => {
  let s: Server;
  const body = (path: string, b: string | Buffer) => postBytes(path, b, { ...auth, host: '127.0.0.1' });
  it('starts', async () => {
    s = await startServer(['--token-env', 'TOKEN'], env);
  });
  it('__proto__, constructor and other unknown members are refused (400 ERR_REQUEST), also on /oracleinvocation', async () => {
    const cases: [string, string][] = [
      ['/v1/encrypt', '{"__proto__":"x","plaintext":"a"}'],
      ['/v1/encrypt', '{"plaintext":"a","constructor":"x"}'],
      ['/v1/encrypt', '{"plaintext":"a","toString":"x"}'],
      ['/v1/encrypt', '{"plaintext":"a","hasOwnProperty":"x"}'],
      ['/v1/encrypt', '{"__proto__":{"plaintext":"a"}}'],
      ['/v1/decrypt', '{"ciphertext":"x","__proto__":"y"}'],
      ['/oracleinvocation', '{"data":"x","extra":"y"}'],
      ['/oracleinvocation', '{"data":"x","__proto__":"y"}'],
      ['/oracleinvocation', '{"data":"x","constructor":"y"}'],
    ];
    for (const [path, b] of cases) {
      const r = await answer(s, body(path, b));
      expect(r.status, b).toBe(400);
      expect(r.json.error.code, b).toBe('ERR_REQUEST');
    }
  });
  it('invalid UTF-8 and escaped lone surrogates are refused (400 ERR_UTF8), never sealed as U+FFFD', async () => {
    const bad: Buffer[] = [
      Buffer.from([...Buffer.from('{"plaintext":"a'), 0xff, ...Buffer.from('"}')]),
      Buffer.from([...Buffer.from('{"plaintext":"'), 0xc0, 0xaf, ...Buffer.from('"}')]), // overlong "/"
      Buffer.from([...Buffer.from('{"plaintext":"'), 0xed, 0xa0, 0x80, ...Buffer.from('"}')]), // an encoded surrogate
      Buffer.from([...Buffer.from('{"plaintext":"'), 0xe2, 0x82, ...Buffer.from('"}')]), // truncated sequence
      Buffer.from('{"plaintext":"\\ud800"}'),
      Buffer.from('{"plaintext":"x\\udc00y"}'),
      Buffer.from('{"plaintext":"\\ud800\\u0041"}'),
    ];
    for (const path of ['/v1/encrypt', '/oracleinvocation']) {
      for (const b of bad) {
        const r = await answer(s, body(path, path === '/oracleinvocation' ? Buffer.from(b.toString('latin1').replace('"plaintext"', '"data"'), 'latin1') : b));
        expect(r.status, b.toString('latin1')).toBe(400);
        expect(r.json.error.code).toBe('ERR_UTF8');
      }
    }
  });
  it('escapes that are fine stay fine: a surrogate pair, an escaped member name, white space', async () => {
    const r = await answer(s, body('/v1/encrypt', ' {\n "plain\\u0074ext" : "\\ud83d\\ude00 \\"q\\" \\u00e9" , "format":"json" }\r\n'));
    expect(r.status).toBe(200);
    expect(run(['decrypt'], { env: { AES_PAYLOAD_KEY: KEY }, input: r.json.ciphertext }).out).toBe('\u{1F600} "q" \u00e9');
    const raw = await answer(s, body('/v1/encrypt', Buffer.from('{"plaintext":"é€😀"}')));
    expect(run(['decrypt'], { env: { AES_PAYLOAD_KEY: KEY }, input: raw.json.ciphertext }).out).toBe('é€😀');
  });
  it('other shapes keep their codes', async () => {
    const cases: [string, string, string][] = [
      ['/v1/encrypt', '{"plaintext":"a","plaintext":"b"}', 'ERR_JSON'],
      ['/v1/encrypt', '{"plaintext":["a"]}', 'ERR_REQUEST'],
      ['/v1/encrypt', '{"plaintext":null}', 'ERR_REQUEST'],
      ['/v1/encrypt', '"plaintext"', 'ERR_REQUEST'],
      ['/v1/encrypt', '{"plaintext":"a",}', 'ERR_JSON'],
      ['/v1/encrypt', '{"plaintext":"a"} x', 'ERR_JSON'],
      ['/v1/encrypt', '{"plaintext":"a\u0001"}', 'ERR_JSON'],
      ['/v1/encrypt', '', 'ERR_JSON'],
      ['/v1/encrypt', '[' .repeat(100000), 'ERR_JSON'],
    ];
    for (const [path, b, code] of cases) {
      const r = await answer(s, body(path, b));
      expect(r.status, b.slice(0, 40)).toBe(400);
      expect(r.json.error.code, b.slice(0, 40)).toBe(code);
    }
  });
  it('a client that goes away mid-body: no 500, no error line, a log line with status 499', async () => {
    const from = s.stderr().length;
    const sock = await connectTo(s.port);
    // Expect: 100-continue tells us when the server is reading the body: then go away mid-body.
    const invited = new Promise<void>((resolve) => sock.once('data', () => resolve()));
    sock.write(`POST /v1/encrypt HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\nauthorization: Bearer ${TOKEN}\r\ncontent-length: 100\r\nexpect: 100-continue\r\n\r\n`);
    await invited;
    sock.write('{"plain');
    const logged = s.waitFor(/"status":499/, from);
    sock.destroy();
    const m = await logged;
    const line = s.stderr().slice(from).split('\n').find((l) => l.includes('"status":499'))!;
    expect(JSON.parse(line)).toMatchObject({ client: '127.0.0.1', route: 'v1_encrypt', status: 499 });
    expect(m).toBeTruthy();
    expect(s.stderr()).not.toMatch(/internal error/);
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    expect(metrics).not.toMatch(/status="500"/);
    s.proc.kill('SIGTERM');
    await s.exited;
  });
});

describe('serve: /v1/decrypt does what SERVICE.md says, the strict way', () => {
  let s: Server;
  // A fresh connection per request: the tests block the event loop with spawnSync, so a kept-alive
  // socket can be closed by the server (its 5 s idle timeout) just as fetch reuses it ("other side closed").
  const post = async (path: string, b: unknown) => {
    const r = await fetch(`${s.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', connection: 'close', ...auth }, body: JSON.stringify(b) });
    return { status: r.status, json: (await r.json()) as any };
  };
  it('starts', async () => {
    s = await startServer(['--token-env', 'TOKEN', '--quiet'], env);
  });
  it('field documents are refused (400 ERR_FIELD_DOCUMENT), also an edited --mac-only-encrypted one', async () => {
    const doc = run(['encrypt', '--fields', 'p'], { env: { AES_PAYLOAD_KEY: KEY }, input: '{"p":"x","q":"visible"}' }).out;
    const r = await post('/v1/decrypt', { ciphertext: doc });
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe('ERR_FIELD_DOCUMENT');
    const loose = run(['encrypt', '--fields', 'p', '--mac-only-encrypted'], { env: { AES_PAYLOAD_KEY: KEY }, input: '{"p":"x","q":"visible"}' }).out;
    const edited = loose.replace('"visible"', '"EDITED"');
    expect(edited).not.toBe(loose);
    const e = await post('/v1/decrypt', { ciphertext: edited });
    expect(e.status).toBe(400);
    expect(e.json.error.code).toBe('ERR_FIELD_DOCUMENT');
    expect(JSON.stringify(e.json)).not.toContain('EDITED');
    const env2 = run(['encrypt', '--fields', 'A', '--input-type', 'env'], { env: { AES_PAYLOAD_KEY: KEY }, input: 'A=1\nB=2\n' }).out;
    expect((await post('/v1/decrypt', { ciphertext: env2 })).json.error.code).toBe('ERR_FIELD_DOCUMENT');
  });
  it('a ciphertext sealed with an aad needs it given again (400 ERR_AAD), for envelopes and JSON JWEs alike', async () => {
    const e = await post('/v1/encrypt', { plaintext: 'bound', aad: 'order-7' });
    expect((await post('/v1/decrypt', { ciphertext: e.json.ciphertext })).json.error.code).toBe('ERR_AAD');
    expect((await post('/v1/decrypt', { ciphertext: e.json.ciphertext, aad: 'order-7' })).json).toEqual({ plaintext: 'bound' });
    expect((await post('/v1/decrypt', { ciphertext: e.json.ciphertext, aad: 'order-8' })).json.error.code).toBe('ERR_AUTH');
    const jwe = run(['encrypt', '--format', 'jwe-json', '--aad', 'order-7'], { env: { AES_PAYLOAD_KEY: KEY }, input: 'jwe bound' }).out;
    expect((await post('/v1/decrypt', { ciphertext: jwe })).json.error.code).toBe('ERR_AAD');
    expect((await post('/v1/decrypt', { ciphertext: jwe, aad: 'order-7' })).json).toEqual({ plaintext: 'jwe bound' });
    const raw = await post('/v1/encrypt', { plaintext: 'raw bound', aad: 'order-7', format: 'raw' });
    expect((await post('/v1/decrypt', { ciphertext: raw.json.ciphertext })).json.error.code).toBe('ERR_AUTH');
    expect((await post('/v1/decrypt', { ciphertext: raw.json.ciphertext, aad: 'order-7' })).json).toEqual({ plaintext: 'raw bound' });
    // and an aad given for a ciphertext sealed without one fails to authenticate
    const plain = await post('/v1/encrypt', { plaintext: 'free' });
    expect((await post('/v1/decrypt', { ciphertext: plain.json.ciphertext, aad: 'x' })).json.error.code).toBe('ERR_AUTH');
    s.proc.kill('SIGTERM');
    await s.exited;
  });
});

describe('serve: /decrypt-mac keeps the origin\'s error shape', () => {
  it('a body that is not JSON, a wrong method, an oversized body: {"status":"error",…}', async () => {
    const k16 = randomBytes(16).toString('hex');
    const s = await startServer(['--legacy-cbc', '--no-v1', '--max-body', '64', '--quiet'], { AES_PAYLOAD_KEY: k16 });
    const text = await fetch(`${s.url}/decrypt-mac`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'encrypted_mac=x' });
    expect(text.status).toBe(400);
    expect(await text.json()).toEqual({ status: 'error', message: 'Decryption failed' });
    const none = await fetch(`${s.url}/decrypt-mac`, { method: 'POST', body: 'x' });
    expect(await none.json()).toEqual({ status: 'error', message: 'Decryption failed' });
    const get = await fetch(`${s.url}/decrypt-mac`);
    expect(get.status).toBe(405);
    expect((await get.json()).status).toBe('error');
    const big = await fetch(`${s.url}/decrypt-mac`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ encrypted_mac: 'A'.repeat(100), salt: 'AAAA' }) });
    expect(big.status).toBe(413);
    expect((await big.json()).status).toBe('error');
    s.proc.kill('SIGTERM');
    await s.exited;
  });
});

