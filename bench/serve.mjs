// The HTTP service under a bounded load on loopback (autocannon, 32
// connections, a few seconds per turn), against the floor for this work on
// Node: a bare node:http handler that parses the same body, seals it with
// AES-256-GCM under a random nonce and answers JSON, with no routing, auth,
// logs or limits. Alternating turns; medians, with min and max over the
// turns (the ratio is the median of each turn's ratio to the floor turn next
// to it). Also the Flask microservice that aes-payload replaces
// (bench/seed_flask.py), under the same load.
//   node bench/serve.mjs [SECONDS] [ROUNDS]     (defaults: 5, 3)
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import autocannon from 'autocannon';
import { bin, median, report, root } from './lib.mjs';

const seconds = Number(process.argv[2] ?? 5);
const rounds = Number(process.argv[3] ?? 3);
const key = randomBytes(32).toString('hex');
const token = randomBytes(24).toString('base64url');
const plaintext = 'x'.repeat(1024);

const FLOOR = `
const http = require('http'), c = require('crypto');
const key = Buffer.from(process.env.K, 'hex');
http.createServer((req, res) => {
  const parts = [];
  req.on('data', (b) => parts.push(b));
  req.on('end', () => {
    const { plaintext } = JSON.parse(Buffer.concat(parts));
    const iv = c.randomBytes(12), e = c.createCipheriv('aes-256-gcm', key, iv);
    const ct = Buffer.concat([e.update(plaintext), e.final(), e.getAuthTag()]);
    const body = JSON.stringify({ ciphertext: Buffer.concat([iv, ct]).toString('base64') });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
  });
}).listen(0, '127.0.0.1', function () { process.stderr.write('listening on http://127.0.0.1:' + this.address().port + '\\n'); });`;

let logs = 0;
/** Start a server whose stderr (the request log, on for ours as in production) goes to a file, as to a log collector. */
function server(cmd, args, env) {
  const file = join(tmpdir(), `aes-payload-bench-serve-${process.pid}-${logs++}.log`);
  const fd = openSync(file, 'w');
  const p = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', fd] });
  closeSync(fd);
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const look = () => {
      const err = readFileSync(file, 'utf8');
      const m = /(?:listening on|Running on) (http:\/\/127\.0\.0\.1:\d+)/.exec(err);
      if (m) return resolve({ url: m[1], pid: p.pid, stop: () => { p.kill('SIGTERM'); setTimeout(() => rmSync(file, { force: true }), 500); } });
      if (Date.now() - t0 > 20000 || p.exitCode !== null) return reject(new Error(`no listening line: ${err}`));
      setTimeout(look, 50);
    };
    look();
  });
}

/** CPU seconds (user + system) of a process and its live children (cluster workers), from /proc. */
function cpu(pid) {
  const one = (p) => {
    try {
      const f = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1].split(' ');
      return (Number(f[11]) + Number(f[12])) / 100;
    } catch {
      return 0;
    }
  };
  let kids = [];
  try {
    kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  } catch {
    /* none */
  }
  return one(pid) + kids.reduce((a, k) => a + one(k), 0);
}

async function load(url, path, body, headers = {}, pid) {
  const c0 = pid ? cpu(pid) : 0;
  const r = await autocannon({ url: `${url}${path}`, method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers }, connections: 32, duration: seconds });
  if (r.non2xx || r.errors) throw new Error(`${path}: ${r.non2xx} non-2xx, ${r.errors} errors`);
  const us = pid ? ((cpu(pid) - c0) / r.requests.total) * 1e6 : 0;
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, us };
}

const ours = {};
const range = (xs) => `median ${median(xs).toFixed(xs[0] >= 100 ? 0 : 1)} (min ${Math.min(...xs).toFixed(xs[0] >= 100 ? 0 : 1)}, max ${Math.max(...xs).toFixed(xs[0] >= 100 ? 0 : 1)})`;
for (const workers of [1, 2]) {
  // The server logs one line per request, as in production (stderr to a pipe that is read).
  const s = await server(process.execPath, [bin, 'serve', '--listen', '127.0.0.1:0', '--workers', String(workers), '--token-env', 'TOKEN'], { AES_PAYLOAD_KEY: key, TOKEN: token });
  const f = await server(process.execPath, ['-e', FLOOR], { K: key });
  const a = [];
  const b = [];
  for (let i = 0; i < rounds; i++) {
    a.push(await load(s.url, '/v1/encrypt', { plaintext }, { authorization: `Bearer ${token}` }, s.pid));
    b.push(await load(f.url, '/', { plaintext }, {}, f.pid));
  }
  s.stop();
  f.stop();
  const m = (xs, k) => median(xs.map((x) => x[k]));
  ours[workers] = { a, b, rps: m(a, 'rps'), p50: m(a, 'p50'), p99: m(a, 'p99'), ratio: median(a.map((x, i) => x.rps / b[i].rps)), floor: { rps: m(b, 'rps'), p50: m(b, 'p50'), p99: m(b, 'p99') } };
}
console.log(`serve, POST /v1/encrypt with 1 KiB payloads, 32 connections, ${seconds} s per turn, median of ${rounds} alternating turns (autocannon, loopback):`);
for (const w of [1, 2]) {
  const o = ours[w];
  report(`--workers ${w}`, o.rps, 'bare node:http floor (one process)', o.floor.rps, 'req/s', w === 1 ? 0.95 : undefined);
  console.log(`    turn by turn: ours ${range(o.a.map((x) => x.rps))} req/s, floor ${range(o.b.map((x) => x.rps))} req/s, ratio median ${median(o.a.map((x, i) => x.rps / o.b[i].rps)).toFixed(2)} (min ${Math.min(...o.a.map((x, i) => x.rps / o.b[i].rps)).toFixed(2)}, max ${Math.max(...o.a.map((x, i) => x.rps / o.b[i].rps)).toFixed(2)})`);
  console.log(`    server CPU per request: ours ${range(o.a.map((x) => x.us))} µs, floor ${range(o.b.map((x) => x.us))} µs`);
  console.log(`    latency p50/p99: ours ${o.p50}/${o.p99} ms (p99 ${range(o.a.map((x) => x.p99))}), floor ${o.floor.p50}/${o.floor.p99} ms${w === 1 ? ` (goal p99 < 6 ms: ${o.p99 < 6 ? 'met' : 'missed'})` : ''}`);
}
const flaskOk = spawnSync('/usr/bin/python3', ['-c', 'import flask, Cryptodome']).status === 0;
if (flaskOk) {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const fl = spawn('/usr/bin/python3', [`${root}/bench/seed_flask.py`, String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  await new Promise((r) => setTimeout(r, 1500));
  const s = await server(process.execPath, [bin, 'serve', '--listen', '127.0.0.1:0', '--quiet', '--no-v1'], {});
  const fr = await load(`http://127.0.0.1:${port}`, '/oracleinvocation', { data: plaintext });
  const sr = await load(s.url, '/oracleinvocation', { data: plaintext });
  fl.kill('SIGTERM');
  s.stop();
  report('POST /oracleinvocation (the seed route)', sr.rps, 'the Flask microservice it replaces', fr.rps, 'req/s');
  console.log(`    latency p50/p99: ours ${sr.p50}/${sr.p99} ms, Flask ${fr.p50}/${fr.p99} ms`);
} else {
  console.log('  the Flask microservice needs python3-flask and python3-pycryptodome (Debian): skipped');
}
process.exit(0);
