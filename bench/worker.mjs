// The NATS JetStream worker (`aes-payload worker encrypt`) against line mode
// (`encrypt --lines`) on the same records in the same run: records per
// second for one and for two workers on this machine (a real nats-server -js
// on 127.0.0.1, its store in /dev/shm), then the latency a worker adds to a
// record: from its publish (acked by JetStream) to its encrypted output on the
// out subject, one record at a time, against the broker's own publish ->
// subscriber time for the same record (the floor).
//   node bench/worker.mjs [RECORDS] [ROUNDS] [--quick]     (defaults: 50000, 3; quick: 10000, 1)
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as pause } from 'node:timers/promises';
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, RetentionPolicy } from '@nats-io/jetstream';
import { args, bin, fact, has, median, quick, row, sh, stats } from './lib.mjs';

if (!has('nats-server')) {
  console.log('worker: nats-server not installed (Debian: apt-get install nats-server); skipped');
  process.exit(0);
}
const n = Number(args[0] ?? (quick ? 10000 : 50000));
const rounds = Number(args[1] ?? (quick ? 1 : 3));
const LATENCY_RECORDS = quick ? 50 : 300;
const BACKSTOP_MS = 10 * 60_000;
const key = randomBytes(32).toString('hex');
const env = { ...process.env, AES_PAYLOAD_KEY: key };
const record = (i) => {
  const head = `{"id":${i},"user":"u${i % 1000}","note":"`;
  return `${head}${'x'.repeat(100 - head.length - 2)}"}`;
};
const records = Array.from({ length: n }, (_, i) => record(i));
const dir = mkdtempSync('/dev/shm/aes-payload-worker-bench.');
writeFileSync(join(dir, 'in'), `${records.join('\n')}\n`);

const srv = createServer().listen(0, '127.0.0.1');
await once(srv, 'listening');
const port = srv.address().port;
srv.close();
const server = spawn('nats-server', ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', join(dir, 'js')], { stdio: ['ignore', 'ignore', 'pipe'] });
let serverLog = '';
await new Promise((resolve, reject) => {
  server.stderr.on('data', (b) => {
    serverLog += b;
    if (serverLog.includes('Server is ready')) resolve();
  });
  server.once('exit', () => reject(new Error(serverLog)));
});
const url = `nats://127.0.0.1:${port}`;
const nc = await connect({ servers: url });
const jsm = await jetstreamManager(nc);
const js = jetstream(nc);
fact('NATS', `nats-server ${spawnSync('nats-server', ['--version']).stdout.toString().trim().replace(/^nats-server: /, '')}, on 127.0.0.1`);

let streamNo = 0;
async function freshStreams() {
  const k = ++streamNo;
  const s = { IN: `B${k}_IN`, OUT: `B${k}_OUT`, in: `b${k}.in`, out: `b${k}.out` };
  await jsm.streams.add({ name: s.IN, subjects: [s.in], retention: RetentionPolicy.Workqueue });
  await jsm.streams.add({ name: s.OUT, subjects: [s.out] });
  return s;
}
const count = async (stream) => (await jsm.streams.info(stream)).state.messages;

function startWorker(s) {
  const child = spawn(process.execPath, [bin, 'worker', '--nats', url, '--stream', s.IN, '--in', s.in, '--out', s.out, 'encrypt'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  const started = new Promise((resolve, reject) => {
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (x) => {
      log += x;
      if (log.includes('"msg":"started"')) resolve(process.hrtime.bigint());
    });
    child.once('exit', (c) => reject(new Error(`worker exited ${c}: ${log}`)));
  });
  started.catch(() => {});
  return { child, started };
}
async function stopWorker(w) {
  w.child.kill('SIGTERM');
  if (w.child.exitCode === null) await once(w.child, 'exit');
}

/** Milliseconds for `workers` workers to encrypt the n records, already in the stream: from the first "started" to the nth output stored. */
async function workerRun(workers) {
  const s = await freshStreams();
  for (let i = 0; i < n; i += 1000) await Promise.all(records.slice(i, i + 1000).map((r) => js.publish(s.in, r)));
  const ws = Array.from({ length: workers }, () => startWorker(s));
  const t0 = await Promise.race(ws.map((w) => w.started));
  const end = Date.now() + BACKSTOP_MS;
  while ((await count(s.OUT)) < n) {
    if (Date.now() > end) throw new Error('worker bench: backstop reached');
    await pause(5);
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  await Promise.all(ws.map(stopWorker));
  await jsm.streams.delete(s.IN);
  await jsm.streams.delete(s.OUT);
  return ms;
}

const t = { lines: [], w1: [], w2: [] };
for (let r = 0; r < rounds; r++) {
  t.lines.push(sh(`"${process.execPath}" "${bin}" encrypt --lines < ${join(dir, 'in')} > ${join(dir, 'out')} 2>/dev/null`, env));
  t.w1.push(await workerRun(1));
  t.w2.push(await workerRun(2));
}
const rate = (k) => stats(t[k], (ms) => n / (ms / 1000));
console.log(`worker, ${n} records of 100 bytes in a stream, ${rounds} interleaved rounds, median (min–max):`);
row({ id: 'worker-1', what: `\`worker encrypt\`, 1 worker, ${n.toLocaleString('en-US')} records of 100 bytes`, unit: 'records/s', ours: rate('w1'), peer: rate('lines'), peerName: '`encrypt --lines`' });
row({ id: 'worker-2', what: '`worker encrypt`, 2 workers on this machine, the same', unit: 'records/s', ours: rate('w2'), peer: rate('lines'), peerName: '`encrypt --lines`' });

// Latency: one record at a time into an idle worker; publish (acked) -> output seen by a subscriber.
{
  const s = await freshStreams();
  const w = startWorker(s);
  await w.started;
  const sub = nc.subscribe(s.out);
  const floorSubject = `${s.out}.floor`;
  const floorSub = nc.subscribe(floorSubject);
  const it = sub[Symbol.asyncIterator]();
  const floorIt = floorSub[Symbol.asyncIterator]();
  const ours = [];
  const floor = [];
  for (let i = 0; i < LATENCY_RECORDS; i++) {
    let t0 = process.hrtime.bigint();
    await js.publish(s.in, records[i]);
    await it.next();
    ours.push(Number(process.hrtime.bigint() - t0) / 1e6);
    t0 = process.hrtime.bigint();
    nc.publish(floorSubject, records[i]);
    await floorIt.next();
    floor.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  sub.unsubscribe();
  floorSub.unsubscribe();
  await stopWorker(w);
  const p99 = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.99)];
  console.log(`worker latency, ${LATENCY_RECORDS} records one at a time: median ${median(ours).toFixed(2)} ms, p99 ${p99(ours).toFixed(2)} ms; broker floor median ${median(floor).toFixed(2)} ms`);
  row({ id: 'worker-latency', what: `\`worker encrypt\`, one record at a time: its publish (acked) to its output, ${LATENCY_RECORDS} records`, unit: 'ms', higherIsBetter: false, ours: stats(ours), peer: stats(floor), peerName: 'NATS publish to subscriber' });
}

await nc.close();
server.kill('SIGTERM');
await once(server, 'exit');
rmSync(dir, { recursive: true, force: true });
