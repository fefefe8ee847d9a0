// Stream throughput and memory, file to file in /dev/shm, in one run on this
// machine: interleaved rounds, medians with min and max.
//
//   node bench/stream.mjs [ROUNDS] [SIZE_MIB] [--quick]     (defaults: 5 rounds, 512 MiB; quick: 3, 128)
//
// Peers: `openssl enc -aes-256-ctr` and `age` (X25519 recipient); a plain
// copy of the file through user memory (the I/O floor). Peak RSS (GNU time)
// at two input sizes (256 MiB and 1 GiB; quick: 64 and 256), against `node -e 0`.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { args, bin, fact, has, interleave, median, quick, row, stats } from './lib.mjs';

const rounds = Number(args[0] ?? (quick ? 3 : 5));
const sizeMiB = Number(args[1] ?? (quick ? 128 : 512));
const rssSizes = quick ? [64, 256] : [256, 1024];
const shm = '/dev/shm';
const key = randomBytes(32).toString('hex');
// The default (the main thread alone) for the goals, and with one worker thread
// (AES_PAYLOAD_THREADS=1) reported beside it; pinned either way, so that every run measures the same.
const env = { ...process.env, AES_PAYLOAD_KEY: key, AES_PAYLOAD_THREADS: '0' };
const withWorker = { ...env, AES_PAYLOAD_THREADS: '1' };

function input(mib) {
  const p = join(shm, `aes-payload-bench-${mib}m.bin`);
  if (existsSync(p) && statSync(p).size === mib * 1048576) return p;
  const fd = openSync(p, 'w');
  for (let i = 0; i < mib; i++) writeSync(fd, randomBytes(1048576));
  closeSync(fd);
  return p;
}

function time([cmd, argv, out, e = env]) {
  if (out) rmSync(out, { force: true });
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, argv, { env: e, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')}: ${r.stderr}`);
  return ms;
}

const src = input(sizeMiB);
const bytes = sizeMiB * 1048576;
const f = (n) => join(shm, `aes-payload-bench.${n}`);
execFileSync(process.execPath, [bin, 'encrypt', '--format', 'stream', src, '-o', f('ours'), '--force'], { env });
const ivHex = '00'.repeat(16);
execFileSync('openssl', ['enc', '-aes-256-ctr', '-K', key, '-iv', ivHex, '-in', src, '-out', f('ossl')]);
if (!has('age') || !has('age-keygen')) {
  console.log('stream: age is not installed (apt-get install age); skipped');
  process.exit(0);
}
const id = f('age-identity');
rmSync(id, { force: true });
execFileSync('age-keygen', ['-o', id], { stdio: 'ignore' });
const recipient = execFileSync('age-keygen', ['-y', id]).toString().trim();
execFileSync('age', ['-r', recipient, '-o', f('age'), src]);
// The I/O floor: a plain copy of the same file through user memory (1 MiB
// reads and writes, no crypto), to show how much of the time the kernel takes.
const copyScript = `const fs=require('fs');const b=Buffer.allocUnsafeSlow(1<<20);const i=fs.openSync(process.argv[1],'r');const o=fs.openSync(process.argv[2],'w');let n;while((n=fs.readSync(i,b,0,b.length,null))>0)fs.writeSync(o,b,0,n);`;
const jobs = {
  'ours enc': [process.execPath, [bin, 'encrypt', '--format', 'stream', src, '-o', f('ours.out')], f('ours.out')],
  'age enc': ['age', ['-r', recipient, '-o', f('age.out'), src], f('age.out')],
  'ossl enc': ['openssl', ['enc', '-aes-256-ctr', '-K', key, '-iv', ivHex, '-in', src, '-out', f('ossl.out')], f('ossl.out')],
  'ours enc, worker': [process.execPath, [bin, 'encrypt', '--format', 'stream', src, '-o', f('ours.out')], f('ours.out'), withWorker],
  'ours dec': [process.execPath, [bin, 'decrypt', f('ours'), '-o', f('ours.dec')], f('ours.dec')],
  'ours dec, worker': [process.execPath, [bin, 'decrypt', f('ours'), '-o', f('ours.dec')], f('ours.dec'), withWorker],
  'age dec': ['age', ['-d', '-i', id, '-o', f('age.dec'), f('age')], f('age.dec')],
  'ossl dec': ['openssl', ['enc', '-d', '-aes-256-ctr', '-K', key, '-iv', ivHex, '-in', f('ossl'), '-out', f('ossl.dec')], f('ossl.dec')],
  copy: [process.execPath, ['-e', copyScript, src, f('copy.out')], f('copy.out')],
};
const t = interleave(jobs, rounds, time);
const mbs = (k) => stats(t[k], (ms) => bytes / 1e6 / (ms / 1000));

const speed = execFileSync('openssl', ['speed', '-evp', 'aes-256-gcm', '-bytes', '65536', '-seconds', quick ? '1' : '2'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
const m = speed.match(/AES-256-GCM\s+([\d.]+)k/i);
fact('openssl speed -evp aes-256-gcm (64 KiB blocks, one core)', m ? `${(Number(m[1]) / 1000).toFixed(0)} MB/s` : 'n/a');
console.log(`stream, file to file, ${sizeMiB} MiB in /dev/shm, ${rounds} interleaved rounds, median (min–max):`);
const floor = `; a plain copy: ${mbs('copy').median.toFixed(0)} MB/s`;
row({ id: 'file-enc-age', what: `stream encrypt, file to file, ${sizeMiB} MiB${floor}`, unit: 'MB/s', ours: mbs('ours enc'), peer: mbs('age enc'), peerName: 'age', goal: { op: '>=', value: 0.8, of: 'ratio' } });
row({ id: 'file-enc-ossl', what: 'stream encrypt, the same', unit: 'MB/s', ours: mbs('ours enc'), peer: mbs('ossl enc'), peerName: '`openssl enc -aes-256-ctr`', goal: { op: '>=', value: 1.0, of: 'ratio' } });
row({ id: 'file-enc-worker', what: 'stream encrypt, the same, with a worker thread (`AES_PAYLOAD_THREADS=1`)', unit: 'MB/s', ours: mbs('ours enc, worker'), peer: mbs('ours enc'), peerName: 'the main thread alone' });
row({ id: 'file-dec-age', what: 'stream decrypt, the same', unit: 'MB/s', ours: mbs('ours dec'), peer: mbs('age dec'), peerName: 'age', goal: { op: '>=', value: 1.0, of: 'ratio' } });
row({ id: 'file-dec-ossl', what: 'stream decrypt, the same', unit: 'MB/s', ours: mbs('ours dec'), peer: mbs('ossl dec'), peerName: '`openssl enc -d -aes-256-ctr`', goal: { op: '>=', value: 1.0, of: 'ratio' } });
row({ id: 'file-dec-worker', what: 'stream decrypt, the same, with a worker thread', unit: 'MB/s', ours: mbs('ours dec, worker'), peer: mbs('ours dec'), peerName: 'the main thread alone' });

// Peak RSS, file to file, by default (and with a worker, reported).
const rss = (argv, e = env) => {
  const r = spawnSync('/usr/bin/time', ['-f', '%M', ...argv], { env: e, stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr}`);
  return Number(r.stderr.toString().trim().split('\n').pop()) / 1024;
};
const base = median([0, 1, 2].map(() => rss([process.execPath, '-e', '0'])));
for (const mib of rssSizes) {
  const p = input(mib);
  const out = f(`rss.${mib}`);
  const dOut = f(`rss.${mib}.dec`);
  rmSync(out, { force: true });
  rmSync(dOut, { force: true });
  const e = rss([process.execPath, bin, 'encrypt', '--format', 'stream', p, '-o', out]);
  const d = rss([process.execPath, bin, 'decrypt', out, '-o', dOut]);
  row({ id: `file-rss-${mib}`, what: `peak RSS, file to file, ${mib} MiB, over \`node -e 0\` (${base.toFixed(0)} MiB): encrypt +${(e - base).toFixed(0)}, decrypt +${(d - base).toFixed(0)}`, unit: 'MiB', ours: Math.max(e, d) - base, goal: { op: '<=', value: 32, of: 'ours' }, higherIsBetter: false });
  if (mib === rssSizes[0]) {
    rmSync(dOut, { force: true });
    const w = rss([process.execPath, bin, 'decrypt', out, '-o', dOut], withWorker);
    row({ id: `file-rss-worker-${mib}`, what: `peak RSS, file to file, ${mib} MiB, decrypt with a worker thread, over \`node -e 0\``, unit: 'MiB', ours: w - base, higherIsBetter: false });
  }
  rmSync(out, { force: true });
  rmSync(dOut, { force: true });
}
for (const n of ['copy.out', 'ours', 'ours.out', 'ours.dec', 'ossl', 'ossl.out', 'ossl.dec', 'age', 'age.out', 'age.dec', 'age-identity']) rmSync(f(n), { force: true });
for (const mib of new Set([sizeMiB, ...rssSizes])) rmSync(join(shm, `aes-payload-bench-${mib}m.bin`), { force: true });
