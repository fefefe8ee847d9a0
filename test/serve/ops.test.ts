// `aes-payload serve` as an operator runs it (issue 19): a busy port, no
// key, workers and their metrics, SIGTERM under keep-alive load, SIGHUP
// reloads, Unix sockets, client addresses in the log, runtime metrics read
// by a real Prometheus parser. Real servers on 127.0.0.1.
import { spawnSync } from 'node:child_process';
import { X509Certificate, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PYTHON, oneLineError, run, tempDir } from '../helpers.js';
import { connectTo, keepAliveLoad, parseAnswer, postBytes, rawRequest, spawnServer, startServer, type Server } from './helpers.js';

const dir = tempDir();
const KEY = randomBytes(32).toString('hex');
const TOKEN = randomBytes(24).toString('base64url');
const env = { AES_PAYLOAD_KEY: KEY, TOKEN };

/** Every sample of a Prometheus text, through prometheus_client's own parser (Debian python3-prometheus-client). */
function promParse(text: string): { name: string; labels: Record<string, string>; value: number; type: string }[] {
  const py = `
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for f in text_string_to_metric_families(sys.stdin.read()):
    for s in f.samples:
        out.append({"name": s.name, "labels": s.labels, "value": s.value, "type": f.type})
print(json.dumps(out))
`;
  const r = spawnSync(PYTHON, ['-c', py], { input: text, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`prometheus_client refused the text: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

describe('serve: start-up failures', () => {
  it('a port in use: one line naming the address, exit 5; with --workers 2 the same, no restart loop', async () => {
    const a = await startServer(['--quiet'], env);
    const b = run(['serve', '--listen', `127.0.0.1:${a.port}`], { env });
    expect(b.code).toBe(5);
    expect(oneLineError(b.stderr)).toBe(`aes-payload: cannot listen on 127.0.0.1:${a.port}: the address is in use (is another server running there?)`);
    const w = run(['serve', '--listen', `127.0.0.1:${a.port}`, '--workers', '2'], { env });
    expect(w.code).toBe(5);
    expect(oneLineError(w.stderr)).toMatch(/^aes-payload: cannot listen on 127\.0\.0\.1:\d+: the address is in use/);
    expect(w.stderr).not.toMatch(/starting another|Unhandled|\n\s+at /);
    a.proc.kill('SIGTERM');
    await a.exited;
  });

  it('no key: refused at start (exit 3, saying how to fix it); --no-v1 serves only the seed and operational routes', async () => {
    const r = run(['serve', '--listen', '127.0.0.1:0'], { env: {} });
    expect(r.code).toBe(3);
    expect(oneLineError(r.stderr)).toMatch(/\/v1\/encrypt and \/v1\/decrypt need a key: set AES_PAYLOAD_KEY.*--no-v1/);
    const s = await startServer(['--no-v1'], {});
    expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${s.url}/readyz`)).status).toBe(200);
    expect((await fetch(`${s.url}/v1/encrypt`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"plaintext":"x"}' })).status).toBe(404);
    expect((await fetch(`${s.url}/oracleinvocation`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"data":"x"}' })).status).toBe(200);
    s.proc.kill('SIGTERM');
    expect((await s.exited).code).toBe(0);
  });

  it('bad --allowed-host, --trust-proxy, --socket-mode and --listen values are usage errors (exit 2)', () => {
    for (const args of [['--allowed-host', 'a b'], ['--trust-proxy', '10.0.0.0/40'], ['--trust-proxy', 'example.com'], ['--listen', 'unix:relative.sock'], ['--listen', 'unix:/tmp/x.sock', '--socket-mode', '0400']]) {
      const r = run(['serve', ...args], { env });
      expect(r.code, args.join(' ')).toBe(2);
      oneLineError(r.stderr);
    }
  });
});

describe('serve: SIGTERM under keep-alive load', () => {
  for (const workers of ['1', '2']) {
    it(`--workers ${workers}: every request received is answered, the last answers say Connection: close, exit 0`, async () => {
      const s = await startServer(['--quiet', '--workers', workers], env);
      const load = keepAliveLoad(s.port, 16);
      await load.progress;
      s.proc.kill('SIGTERM');
      await load.done;
      const st = load.stats();
      expect(st.lost).toBe(0);
      expect(st.lastClose.filter(Boolean).length).toBe(16);
      expect(st.distinct).toBe(st.answered); // fresh nonces: no answer twice
      expect((await s.exited).code).toBe(0);
      await expect(connectTo(s.port)).rejects.toThrow();
    });
  }

  it('/readyz answers 503 while draining, /healthz still 200; idle connections are closed', async () => {
    const s = await startServer([], env);
    const a = await connectTo(s.port);
    const b = await connectTo(s.port);
    expect((await rawRequest(a, 'GET /readyz HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n')).status).toBe(200);
    // a request in progress keeps the drain going
    const slow = await connectTo(s.port);
    const whole = postBytes('/v1/encrypt', '{"plaintext":"slow"}');
    const cut = whole.indexOf('\r\n\r\n') + 9; // the headers and part of the body
    slow.write(whole.subarray(0, cut));
    const from = s.stderr().length;
    s.proc.kill('SIGTERM');
    await s.waitFor(/draining: 3 connections open/, from);
    const r = await rawRequest(a, 'GET /readyz HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n');
    expect(r.status).toBe(503);
    expect(JSON.parse(r.body)).toEqual({ status: 'draining' });
    expect(r.headers.connection).toBe('close');
    const h = await rawRequest(b, 'GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n');
    expect(h.status).toBe(200);
    const rest = whole.subarray(cut);
    const answer = new Promise<Buffer>((resolve) => {
      let t = Buffer.alloc(0);
      slow.on('data', (d) => (t = Buffer.concat([t, d])));
      slow.on('close', () => resolve(t));
    });
    slow.write(rest);
    const got = parseAnswer(await answer)!;
    expect(got.answer.status).toBe(200);
    expect(got.answer.headers.connection).toBe('close');
    expect((await s.exited).code).toBe(0);
  });
});

describe('serve: metrics', () => {
  it('--workers 2: every scrape holds both workers and the primary; counts add up; a real Prometheus parser reads it', async () => {
    const s = await startServer(['--workers', '2', '--quiet'], env);
    for (let i = 0; i < 12; i++) {
      const r = await fetch(`${s.url}/v1/encrypt`, { method: 'POST', headers: { 'content-type': 'application/json', connection: 'close' }, body: '{"plaintext":"x"}' });
      expect(r.status).toBe(200);
    }
    for (let scrape = 0; scrape < 6; scrape++) {
      const text = await (await fetch(`${s.url}/metrics`, { headers: { connection: 'close' } })).text();
      const samples = promParse(text);
      const enc = samples.filter((x) => x.name === 'aes_payload_requests_total' && x.labels.route === 'v1_encrypt');
      expect(enc.reduce((a, x) => a + x.value, 0), text).toBe(12);
      const cpu = samples.filter((x) => x.name === 'process_cpu_seconds_total');
      expect(cpu.map((x) => x.labels.worker).sort()).toEqual(['1', '2', 'primary']);
      expect(samples.find((x) => x.name === 'aes_payload_workers')!.value).toBe(2);
      expect(new Set(samples.filter((x) => x.name === 'aes_payload_requests_in_flight').map((x) => x.labels.worker))).toEqual(new Set(['1', '2']));
    }
    s.proc.kill('SIGTERM');
    expect((await s.exited).code).toBe(0);
  });

  it('runtime figures and build_info, parsed by prometheus_client', async () => {
    const s = await startServer(['--quiet'], env);
    await fetch(`${s.url}/healthz`);
    const samples = promParse(await (await fetch(`${s.url}/metrics`)).text());
    const one = (n: string) => samples.find((x) => x.name === n);
    const version = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')).version;
    expect(one('aes_payload_build_info')).toMatchObject({ value: 1, labels: { version, node: expect.stringMatching(/^v\d+\./) } });
    expect(one('process_cpu_seconds_total')!.value).toBeGreaterThan(0);
    expect(one('process_cpu_seconds_total')!.type).toBe('counter');
    expect(one('process_resident_memory_bytes')!.value).toBeGreaterThan(10 * 1024 * 1024);
    expect(one('nodejs_heap_size_used_bytes')!.value).toBeGreaterThan(0);
    expect(one('nodejs_eventloop_lag_p99_seconds')!.value).toBeGreaterThanOrEqual(0);
    expect(one('process_start_time_seconds')!.value).toBeGreaterThan(Date.now() / 1000 - 3600);
    expect(one('aes_payload_connections_open')!.value).toBeGreaterThanOrEqual(1);
    expect(samples.some((x) => x.name === 'aes_payload_request_duration_seconds_bucket' && x.labels.route === 'healthz' && x.labels.le === '+Inf' && x.value === 1)).toBe(true);
    s.proc.kill('SIGTERM');
    await s.exited;
  });
});

describe('serve: logs name the client', () => {
  it('the peer\'s address; X-Forwarded-For only from --trust-proxy peers, right-most untrusted hop', async () => {
    const lines = async (s: Server, headers: Record<string, string>) => {
      const from = s.stderr().length;
      await fetch(`${s.url}/healthz`, { headers });
      const m = await s.waitFor(/^\{.*"route":"healthz".*\}$/m, from);
      return JSON.parse(m[0]);
    };
    const plain = await startServer([], env);
    expect(await lines(plain, { 'x-forwarded-for': '203.0.113.7' })).toMatchObject({ client: '127.0.0.1', route: 'healthz', status: 200 });
    plain.proc.kill('SIGTERM');
    const proxied = await startServer(['--trust-proxy', '127.0.0.0/8,10.0.0.0/8'], env);
    expect((await lines(proxied, { 'x-forwarded-for': '203.0.113.7' })).client).toBe('203.0.113.7');
    expect((await lines(proxied, { 'x-forwarded-for': '198.51.100.1, 203.0.113.7, 10.1.1.1' })).client).toBe('203.0.113.7');
    expect((await lines(proxied, { 'x-forwarded-for': 'not-an-ip' })).client).toBe('127.0.0.1');
    expect((await lines(proxied, {})).client).toBe('127.0.0.1');
    // a 408 for a slow client is logged with its address too
    proxied.proc.kill('SIGTERM');
    await Promise.all([plain.exited, proxied.exited]);
    const slow = await startServer(['--headers-timeout', '500'], env);
    const from = slow.stderr().length;
    const sock = await connectTo(slow.port);
    sock.on('error', () => {});
    sock.write('GET /heal');
    const m = await slow.waitFor(/^\{.*"status":408.*\}$/m, from);
    expect(JSON.parse(m[0])).toMatchObject({ client: '127.0.0.1', status: 408 });
    slow.proc.kill('SIGTERM');
    await slow.exited;
  });
});

function cert(name: string): { cert: string; key: string } {
  const c = join(dir, `${name}.crt`);
  const k = join(dir, `${name}.key`);
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', k, '-out', c, '-days', '1', '-subj', `/CN=${name}`, '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return { cert: readFileSync(c, 'utf8'), key: readFileSync(k, 'utf8') };
}

describe('serve: SIGHUP reloads the TLS files and the token file', () => {
  it('new certificate and token for new requests, the open connection kept; a bad reload keeps the old ones and says why', async () => {
    const a = cert('reload-a');
    const b = cert('reload-b');
    const crt = join(dir, 'live.crt');
    const key = join(dir, 'live.key');
    const tok = join(dir, 'token');
    writeFileSync(crt, a.cert);
    writeFileSync(key, a.key, { mode: 0o600 });
    writeFileSync(tok, `${TOKEN}\n`, { mode: 0o600 });
    const s = await startServer(['--tls-cert', crt, '--tls-key', key, '--token-file', tok], { AES_PAYLOAD_KEY: KEY });
    const ca = `${a.cert}${b.cert}`;
    const agent = new HttpsAgent({ keepAlive: true, maxSockets: 1, ca });
    const get = (ag: HttpsAgent, path: string, headers: Record<string, string> = {}, method = 'GET', body?: string) =>
      new Promise<{ status: number; fp: string; reused: boolean }>((resolve, reject) => {
        const req = httpsRequest({ host: '127.0.0.1', port: s.port, path, method, agent: ag, headers }, (res) => {
          // (Node gives no peer certificate on a reused socket: the fingerprint is checked on new connections)
          const fp = (res.socket as import('node:tls').TLSSocket).getPeerX509Certificate()?.fingerprint256 ?? '';
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode!, fp, reused: req.reusedSocket }));
        });
        req.on('error', reject);
        req.end(body);
      });
    const enc = (ag: HttpsAgent, t: string) => get(ag, '/v1/encrypt', { 'content-type': 'application/json', authorization: `Bearer ${t}` }, 'POST', '{"plaintext":"x"}');
    const fa = new X509Certificate(a.cert).fingerprint256;
    const fb = new X509Certificate(b.cert).fingerprint256;
    expect(await get(agent, '/healthz')).toMatchObject({ status: 200, fp: fa });
    const NEW = randomBytes(24).toString('base64url');
    writeFileSync(crt, b.cert);
    writeFileSync(key, b.key);
    writeFileSync(tok, `${NEW}\n`);
    let from = s.stderr().length;
    s.proc.kill('SIGHUP');
    await s.waitFor(/reloaded the TLS certificate and key \(SHA-256 fingerprint [0-9A-F:]+\) and the token file/, from);
    // the kept-alive connection goes on (its handshake was with the old certificate)
    expect(await get(agent, '/healthz')).toMatchObject({ status: 200, reused: true });
    const fresh = () => new HttpsAgent({ keepAlive: false, ca });
    expect(await get(fresh(), '/healthz')).toMatchObject({ status: 200, fp: fb });
    expect((await enc(fresh(), TOKEN)).status).toBe(401);
    expect((await enc(fresh(), NEW)).status).toBe(200);
    // a bad certificate: nothing changes, and the line says why
    writeFileSync(crt, 'not a certificate');
    from = s.stderr().length;
    s.proc.kill('SIGHUP');
    await s.waitFor(/reload failed, still serving with the previous certificate and token: .+/, from);
    writeFileSync(tok, 'short\n');
    writeFileSync(crt, b.cert);
    from = s.stderr().length;
    s.proc.kill('SIGHUP');
    await s.waitFor(/reload failed.*shorter than 16/, from);
    expect(await get(fresh(), '/healthz')).toMatchObject({ status: 200, fp: fb });
    expect((await enc(fresh(), NEW)).status).toBe(200);
    agent.destroy();
    expect(s.proc.exitCode).toBeNull(); // SIGHUP used to kill it (129)
    s.proc.kill('SIGTERM');
    expect((await s.exited).code).toBe(0);
  });

  it('--workers 2: the token file reloads in every worker', async () => {
    const tok = join(dir, 'token2');
    writeFileSync(tok, `${TOKEN}\n`, { mode: 0o600 });
    const s = await startServer(['--token-file', tok, '--workers', '2', '--quiet'], { AES_PAYLOAD_KEY: KEY });
    const NEW = randomBytes(24).toString('base64url');
    writeFileSync(tok, `${NEW}\n`);
    const from = s.stderr().length;
    s.proc.kill('SIGHUP');
    await s.waitFor(/reloaded the token file \(2 workers\)/, from);
    // The primary sends the reload to each worker before it says "reloaded", and hands new
    // connections to workers over the same (ordered) IPC channel: every later request sees it.
    const statuses = new Set<number>();
    for (let i = 0; i < 8; i++) {
      const r = await fetch(`${s.url}/v1/encrypt`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${NEW}`, connection: 'close' }, body: '{"plaintext":"x"}' });
      statuses.add(r.status);
      const old = await fetch(`${s.url}/v1/encrypt`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}`, connection: 'close' }, body: '{"plaintext":"x"}' });
      statuses.add(old.status === 401 ? 200 : 999);
    }
    expect([...statuses]).toEqual([200]);
    s.proc.kill('SIGTERM');
    expect((await s.exited).code).toBe(0);
  });
});

describe('serve: --listen unix:PATH', () => {
  it('a 0600 socket (or --socket-mode), curl and node clients, a stale socket replaced, removed on exit', async () => {
    const d = join(dir, 'run');
    mkdirSync(d, { mode: 0o700 });
    const path = join(d, 'api.sock');
    const s = await spawnServer(['--listen', `unix:${path}`, '--token-env', 'TOKEN'], env).listening;
    expect(s.url).toBe(`unix:${path}`);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const c = spawnSync('curl', ['-s', '--unix-socket', path, '-H', 'content-type: application/json', '-H', `authorization: Bearer ${TOKEN}`, '-d', '{"plaintext":"over a unix socket"}', 'http://localhost/v1/encrypt'], { encoding: 'utf8' });
    expect(run(['decrypt'], { env: { AES_PAYLOAD_KEY: KEY }, input: JSON.parse(c.stdout).ciphertext }).out).toBe('over a unix socket');
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest({ socketPath: path, path: '/readyz' }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(200);
    // a second server on the same path is refused: in use
    const second = run(['serve', '--listen', `unix:${path}`], { env });
    expect(second.code).toBe(5);
    expect(oneLineError(second.stderr)).toMatch(/cannot listen on unix:.*api\.sock: the address is in use/);
    s.proc.kill('SIGKILL'); // leaves a stale socket behind
    await s.exited;
    expect(existsSync(path)).toBe(true);
    const t = await spawnServer(['--listen', `unix:${path}`, '--socket-mode', '0660', '--workers', '2'], env).listening;
    expect(statSync(path).mode & 0o777).toBe(0o660);
    t.proc.kill('SIGTERM');
    expect((await t.exited).code).toBe(0);
    expect(existsSync(path)).toBe(false);
  });
});
