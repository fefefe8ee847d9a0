// The deployments docs/SERVICE.md describes, tested as written: the systemd
// unit passes `systemd-analyze verify` and its command line runs the way
// systemd would run it (credentials in $CREDENTIALS_DIRECTORY); the HAProxy
// configuration fronts two replicas on loopback while one is killed and the
// other drained. (The container recipe is marked as not tested here.)
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, ROOT, run, tempDir } from '../helpers.js';
import { spawnServer, type Server } from './helpers.js';

const dir = tempDir();
const KEY = randomBytes(32).toString('hex');
const TOKEN = randomBytes(24).toString('base64url');
const doc = readFileSync(join(ROOT, 'docs/SERVICE.md'), 'utf8');
const kill: ChildProcess[] = [];
afterAll(() => {
  for (const p of kill) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
});

/** The fenced block with this info string in docs/SERVICE.md (there is exactly one). */
function block(info: string): string {
  const all = [...doc.matchAll(new RegExp('^```' + info + '\\n([\\s\\S]*?)^```$', 'gm'))];
  expect(all.length, `one \`\`\`${info} block in docs/SERVICE.md`).toBe(1);
  return all[0]![1]!;
}

describe('deployment: systemd', () => {
  const unit = block('ini');
  it('the unit passes systemd-analyze verify, with no warning', () => {
    expect(unit).toMatch(/^ExecStart=\/usr\/local\/bin\/aes-payload serve /m);
    const d = join(dir, 'systemd');
    mkdirSync(d);
    // verify needs the executable to exist: point it at this checkout's
    const f = join(d, 'aes-payload.service');
    writeFileSync(f, unit.replace(/\/usr\/local\/bin\/aes-payload/g, BIN));
    const r = spawnSync('systemd-analyze', ['verify', f], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(`${r.stdout}${r.stderr}`.trim()).toBe('');
    // and it is the hardened unit the docs promise
    for (const line of ['LoadCredential=key:', 'LoadCredential=token:', 'NoNewPrivileges=yes', 'ProtectSystem=strict', 'PrivateTmp=yes', 'CapabilityBoundingSet=', 'SystemCallFilter=@system-service', 'RestartPreventExitStatus=2 3 5', 'ExecReload=/bin/kill -HUP $MAINPID', 'KillMode=mixed']) {
      expect(unit).toContain(line);
    }
  });

  it('its command line runs as systemd would run it: key and token from $CREDENTIALS_DIRECTORY', async () => {
    const exec = unit.replace(/\\\n\s*/g, '').match(/^ExecStart=(.*)$/m)![1]!;
    const creds = join(dir, 'credentials');
    mkdirSync(creds, { mode: 0o700 });
    writeFileSync(join(creds, 'key'), `${KEY}\n`, { mode: 0o400 });
    writeFileSync(join(creds, 'token'), `${TOKEN}\n`, { mode: 0o400 });
    const tls = join(dir, 'tls');
    mkdirSync(tls);
    const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(tls, 'key.pem'), '-out', join(tls, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    chmodSync(join(tls, 'key.pem'), 0o600);
    // systemd expands ${CREDENTIALS_DIRECTORY}; here, loopback and a free port instead of the unit's address
    const args = exec
      .replace(/\$\{CREDENTIALS_DIRECTORY\}/g, creds)
      .replace(/\/etc\/aes-payload\/tls/g, tls)
      .replace(/--listen \S+/, '--listen 127.0.0.1:0')
      .split(/\s+/);
    expect(args[0]).toBe('/usr/local/bin/aes-payload');
    expect(args[1]).toBe('serve');
    const s = await spawnServer(args.slice(2), {}).listening;
    const c = spawnSync('curl', ['-s', '--cacert', join(tls, 'cert.pem'), '-H', `authorization: Bearer ${TOKEN}`, '-H', 'content-type: application/json', '-d', '{"plaintext":"from systemd"}', `${s.url}/v1/encrypt`], { encoding: 'utf8' });
    expect(run(['decrypt'], { env: { AES_PAYLOAD_KEY: KEY }, input: JSON.parse(c.stdout).ciphertext }).out).toBe('from systemd');
    s.proc.kill('SIGTERM');
    expect((await s.exited).code).toBe(0);
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const p = (srv.address() as { port: number }).port;
      srv.close(() => resolve(p));
    });
  });
}

/** `show stat` on HAProxy's admin socket: server name -> status (UP, DOWN, …). */
function serverStates(sock: string): Promise<Record<string, string>> {
  return new Promise((resolve) => {
    let t = '';
    const s = connect(sock, () => s.write('show stat\n'));
    s.on('data', (b) => (t += b));
    s.on('error', () => resolve({}));
    s.on('close', () => {
      const out: Record<string, string> = {};
      for (const l of t.split('\n')) {
        const f = l.split(',');
        if (f[0] === 'aes_payload' && f[1] !== 'BACKEND') out[f[1]!] = f[17]!;
      }
      resolve(out);
    });
  });
}

async function until<T>(what: string, f: () => Promise<T | undefined>, limitMs = 60_000): Promise<T> {
  // Polls HAProxy's own state (an event we cannot subscribe to); the bound is generous and only fails a hung run.
  const t0 = Date.now();
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() - t0 > limitMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('deployment: HAProxy in front of two replicas', () => {
  it('traffic keeps flowing while one replica is killed and the other drained with SIGTERM: no request lost', async () => {
    const cfgText = block('haproxy');
    const tls = join(dir, 'ha-tls');
    mkdirSync(tls);
    const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(tls, 'key.pem'), '-out', join(tls, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    chmodSync(join(tls, 'key.pem'), 0o600);
    const env = { AES_PAYLOAD_KEY: KEY, TOKEN };
    const replica = (port: number) => spawnServer(['--listen', `127.0.0.1:${port}`, '--tls-cert', join(tls, 'cert.pem'), '--tls-key', join(tls, 'key.pem'), '--token-env', 'TOKEN', '--quiet'], env).listening;
    const [pa, pb, front] = [await freePort(), await freePort(), await freePort()];
    let a: Server = await replica(pa);
    const b: Server = await replica(pb);
    const admin = join(dir, 'haproxy.sock');
    // The documented configuration, with loopback addresses, test files and an admin socket for the test.
    const cfg = cfgText
      .replace(/^(\s*)bind \S+.*$/m, `$1bind 127.0.0.1:${front}`)
      .replace(/10\.0\.0\.11:8443/g, `127.0.0.1:${pa}`)
      .replace(/10\.0\.0\.12:8443/g, `127.0.0.1:${pb}`)
      .replace(/\/etc\/haproxy\/aes-payload-ca\.pem/g, join(tls, 'cert.pem'))
      .replace(/^global\n/m, `global\n    stats socket ${admin} mode 600 level admin\n`);
    expect(cfg).toContain(`127.0.0.1:${pa}`);
    expect(cfg).toMatch(/inter 2s fall 3/);
    const cfgFile = join(dir, 'haproxy.cfg');
    writeFileSync(cfgFile, cfg);
    const check = spawnSync('haproxy', ['-c', '-f', cfgFile], { encoding: 'utf8' });
    expect(check.status, check.stderr + check.stdout).toBe(0);
    const ha = spawn('haproxy', ['-db', '-f', cfgFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    kill.push(ha);
    let haErr = '';
    ha.stderr!.on('data', (d) => (haErr += d));
    await until('both replicas UP', async () => {
      const st = await serverStates(admin);
      return st.a === 'UP' && st.b === 'UP' ? true : undefined;
    });

    // Eight clients, kept-alive connections to HAProxy, one POST after another.
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    const results: { status: number; body: string; error?: string }[] = [];
    let going = true;
    const one = () =>
      new Promise<void>((resolve) => {
        const body = JSON.stringify({ plaintext: `n${results.length}` });
        const req = request({ host: '127.0.0.1', port: front, path: '/v1/encrypt', method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': body.length, authorization: `Bearer ${TOKEN}` } }, (res) => {
          let t = '';
          res.on('data', (d) => (t += d));
          res.on('end', () => {
            results.push({ status: res.statusCode!, body: t });
            resolve();
          });
        });
        req.on('error', (e) => {
          results.push({ status: 0, body: '', error: e.message });
          resolve();
        });
        req.end(body);
      });
    const loops = Array.from({ length: 8 }, async () => {
      while (going) await one();
    });
    const after = (n: number) => until(`${n} answers`, async () => (results.length >= n ? true : undefined));

    await after(100);
    a.proc.kill('SIGKILL'); // a crash: in-flight requests die with it
    await until('HAProxy marks a DOWN', async () => ((await serverStates(admin)).a === 'DOWN' ? true : undefined));
    const n1 = results.length;
    await after(n1 + 50);
    a = await replica(pa); // back on the same address
    await until('HAProxy marks a UP again', async () => ((await serverStates(admin)).a === 'UP' ? true : undefined));
    await after(results.length + 50);
    b.proc.kill('SIGTERM'); // a drain
    expect((await b.exited).code).toBe(0);
    await until('HAProxy marks b DOWN', async () => ((await serverStates(admin)).b === 'DOWN' ? true : undefined));
    await after(results.length + 50);
    going = false;
    await Promise.all(loops);
    agent.destroy();

    const bad = results.filter((x) => x.status !== 200);
    expect(bad, JSON.stringify(bad.slice(0, 3))).toEqual([]);
    expect(results.length).toBeGreaterThan(250);
    const last = JSON.parse(results[results.length - 1]!.body).ciphertext;
    expect(run(['decrypt'], { env: { AES_PAYLOAD_KEY: KEY }, input: last }).code).toBe(0);
    ha.kill('SIGTERM');
    a.proc.kill('SIGTERM');
    expect((await a.exited).code).toBe(0);
    expect(haErr).not.toMatch(/\[ALERT\]/);
  }, 180_000);
});
