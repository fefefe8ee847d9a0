// Stream throughput, memory and the physical limit, in one run on this machine
// (these machines are noisy: runs are interleaved and medians reported).
//
//   node bench/stream.mjs [ROUNDS] [SIZE_MIB]     (defaults: 5 rounds, 512 MiB)
//
// Inputs and outputs live in /dev/shm. Peers: `openssl enc -aes-256-ctr` and
// `age` (X25519 recipient). Prints MB/s, ratios against each peer, our
// fraction of `openssl speed -evp aes-256-gcm` x cores, and peak RSS
// (/usr/bin/time) for 256 MiB and 1 GiB against `node -e 0`.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { report } from './lib.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'bin/aes-payload.js');
const rounds = Number(process.argv[2] ?? 5);
const sizeMiB = Number(process.argv[3] ?? 512);
const shm = '/dev/shm';
const key = randomBytes(32).toString('hex');
const env = { ...process.env, AES_PAYLOAD_KEY: key };
const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

function input(mib) {
  const p = join(shm, `aes-payload-bench-${mib}m.bin`);
  if (existsSync(p) && statSync(p).size === mib * 1048576) return p;
  const fd = openSync(p, 'w');
  for (let i = 0; i < mib; i++) writeSync(fd, randomBytes(1048576));
  closeSync(fd);
  return p;
}

function time(cmd, args, out) {
  if (out) rmSync(out, { force: true });
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return ms;
}
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

const src = input(sizeMiB);
const bytes = sizeMiB * 1048576;
const f = (n) => join(shm, `aes-payload-bench.${n}`);
// One encrypted copy of each kind, for the decrypt runs.
execFileSync(process.execPath, [bin, 'encrypt', '--format', 'stream', src, '-o', f('ours'), '--force'], { env });
const ivHex = '00'.repeat(16);
const jobs = {
  'aes-payload encrypt': [process.execPath, [bin, 'encrypt', '--format', 'stream', src, '-o', f('ours.out')], f('ours.out')],
  'aes-payload decrypt': [process.execPath, [bin, 'decrypt', f('ours'), '-o', f('ours.dec')], f('ours.dec')],
  'openssl-ctr encrypt': ['openssl', ['enc', '-aes-256-ctr', '-K', key, '-iv', ivHex, '-in', src, '-out', f('ossl.out')], f('ossl.out')],
  'openssl-ctr decrypt': ['openssl', ['enc', '-d', '-aes-256-ctr', '-K', key, '-iv', ivHex, '-in', f('ossl'), '-out', f('ossl.dec')], f('ossl.dec')],
};
execFileSync('openssl', ['enc', '-aes-256-ctr', '-K', key, '-iv', ivHex, '-in', src, '-out', f('ossl')]);
if (has('age') && has('age-keygen')) {
  const id = f('age-identity');
  rmSync(id, { force: true });
  execFileSync('age-keygen', ['-o', id], { stdio: 'ignore' });
  const recipient = execFileSync('age-keygen', ['-y', id]).toString().trim();
  execFileSync('age', ['-r', recipient, '-o', f('age'), src]);
  jobs['age encrypt'] = ['age', ['-r', recipient, '-o', f('age.out'), src], f('age.out')];
  jobs['age decrypt'] = ['age', ['-d', '-i', id, '-o', f('age.dec'), f('age')], f('age.dec')];
} else {
  console.log('age is not installed (apt-get install age): age ratios skipped');
}

// The I/O floor: a plain copy of the same file through user memory (1 MiB
// reads and writes, no crypto), to show how much of the time the kernel takes.
const copyScript = `const fs=require('fs');const b=Buffer.allocUnsafeSlow(1<<20);const i=fs.openSync(process.argv[1],'r');const o=fs.openSync(process.argv[2],'w');let n;while((n=fs.readSync(i,b,0,b.length,null))>0)fs.writeSync(o,b,0,n);`;
jobs['copy (I/O floor)'] = [process.execPath, ['-e', copyScript, src, f('copy.out')], f('copy.out')];

const times = Object.fromEntries(Object.keys(jobs).map((k) => [k, []]));
for (let r = 0; r < rounds; r++) {
  for (const [name, [cmd, args, out]] of Object.entries(jobs)) times[name].push(time(cmd, args, out));
}
const mbs = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, bytes / 1e6 / (median(v) / 1000)]));

console.log(`stream, file to file, ${sizeMiB} MiB in /dev/shm, median of ${rounds} interleaved runs, ${availableParallelism()} cores (${cpus()[0]?.model.trim()}):`);
for (const dir of ['encrypt', 'decrypt']) {
  const ours = mbs[`aes-payload ${dir}`];
  if (mbs[`age ${dir}`]) report(`${dir}`, ours, 'age', mbs[`age ${dir}`], 'MB/s', 1.5);
  report(`${dir}`, ours, 'openssl enc -aes-256-ctr', mbs[`openssl-ctr ${dir}`], 'MB/s', 1.0);
  report(`${dir}`, ours, 'cp (the I/O floor)', mbs['copy (I/O floor)'], 'MB/s');
}

// For reference: openssl speed for AES-256-GCM on 64 KiB blocks, one core.
const speed = execFileSync('openssl', ['speed', '-evp', 'aes-256-gcm', '-bytes', '65536', '-seconds', '2'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
const m = speed.match(/AES-256-GCM\s+([\d.]+)k/i) ?? speed.match(/aes-256-gcm\s+([\d.]+)k/i);
if (m) console.log(`  (openssl speed aes-256-gcm: ${(Number(m[1]) / 1000).toFixed(0)} MB/s on one core)`);

// Peak RSS: GNU time's %M, file to file, by the default (one crypto worker)
// and with AES_PAYLOAD_THREADS=0 (main thread only), against node -e 0.
if (existsSync('/usr/bin/time')) {
  const rss = (args, extra = {}) => {
    const r = spawnSync('/usr/bin/time', ['-f', '%M', ...args], { env: { ...env, ...extra }, stdio: ['ignore', 'ignore', 'pipe'] });
    return Number(r.stderr.toString().trim().split('\n').pop()) / 1024;
  };
  const base = median([0, 1, 2].map(() => rss([process.execPath, '-e', '0'])));
  for (const [label, extra] of [['default (one crypto worker)', {}], ['AES_PAYLOAD_THREADS=0', { AES_PAYLOAD_THREADS: '0' }]]) {
    for (const mib of [256, 1024]) {
      const p = input(mib);
      const out = f(`rss.${mib}`);
      rmSync(out, { force: true });
      const e = rss([process.execPath, bin, 'encrypt', '--format', 'stream', p, '-o', out], extra);
      const dOut = f(`rss.${mib}.dec`);
      rmSync(dOut, { force: true });
      const d = rss([process.execPath, bin, 'decrypt', out, '-o', dOut], extra);
      const over = Math.max(e, d) - base;
      console.log(`  peak RSS ${label}, ${mib} MiB: encrypt ${e.toFixed(0)} MiB, decrypt ${d.toFixed(0)} MiB, node -e 0 ${base.toFixed(0)} MiB: +${over.toFixed(0)} MiB (goal +32 MiB: ${over <= 32 ? 'met' : 'missed'})`);
      rmSync(out, { force: true });
      rmSync(dOut, { force: true });
    }
  }
}
for (const n of ['copy.out', 'ours', 'ours.out', 'ours.dec', 'ossl', 'ossl.out', 'ossl.dec', 'age', 'age.out', 'age.dec', 'age-identity']) rmSync(f(n), { force: true });
