// Pipes, as a shell script uses the tool, against age (Debian) in the same run:
//   cat in | aes-payload encrypt --format stream | cat > out      (a fast consumer)
//   aes-payload decrypt < enc | sha256sum                          (a slow consumer)
// in /dev/shm, interleaved rounds, medians with min and max; peak RSS.
//   node bench/pipes.mjs [ROUNDS] [SIZE_MIB] [--quick]     (defaults: 7, 256; quick: 3, 64)
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import { args, bin, fact, has, interleave, median, quick, row, rss, sh, stats } from './lib.mjs';

const rounds = Number(args[0] ?? (quick ? 3 : 7));
const mib = Number(args[1] ?? (quick ? 64 : 256));
if (!has('age') || !has('age-keygen')) {
  console.log('pipes: age is not installed (apt-get install age); skipped');
  process.exit(0);
}
const env = { ...process.env, AES_PAYLOAD_KEY: randomBytes(32).toString('hex') };
const f = (n) => `/dev/shm/aes-payload-pipes.${n}`;
const fd = openSync(f('in'), 'w');
for (let i = 0; i < mib; i++) writeSync(fd, randomBytes(1 << 20));
closeSync(fd);
rmSync(f('id'), { force: true });
execFileSync('age-keygen', ['-o', f('id')], { stdio: 'ignore' });
const r = execFileSync('age-keygen', ['-y', f('id')]).toString().trim();
const node = `"${process.execPath}" "${bin}"`;
sh(`${node} encrypt --format stream < ${f('in')} > ${f('enc')}`, env);
sh(`age -r ${r} < ${f('in')} > ${f('age')}`, env);
const jobs = {
  'ours enc': `cat ${f('in')} | ${node} encrypt --format stream | cat > ${f('out')}`,
  'age enc': `cat ${f('in')} | age -r ${r} | cat > ${f('out')}`,
  'ours dec': `${node} decrypt < ${f('enc')} | sha256sum > /dev/null`,
  'age dec': `age -d -i ${f('id')} < ${f('age')} | sha256sum > /dev/null`,
  'sha256sum alone': `sha256sum < ${f('in')} > /dev/null`,
};
const t = interleave(jobs, rounds, (c) => sh(c, env));
const mbs = (k) => stats(t[k], (ms) => (mib * 1.048576) / (ms / 1000));
fact('age', execFileSync('age', ['--version']).toString().trim());
console.log(`pipes, ${mib} MiB, ${rounds} interleaved rounds, median (min–max):`);
row({ id: 'pipe-enc', what: `\`cat in | encrypt --format stream | cat\`, ${mib} MiB`, unit: 'MB/s', ours: mbs('ours enc'), peer: mbs('age enc'), peerName: 'age', goal: { op: '>=', value: 0.5, of: 'ratio' } });
row({
  id: 'pipe-dec',
  what: `\`decrypt < enc | sha256sum\`, ${mib} MiB (sha256sum alone: ${mbs('sha256sum alone').median.toFixed(0)} MB/s, the ceiling)`,
  unit: 'MB/s',
  ours: mbs('ours dec'),
  peer: mbs('age dec'),
  peerName: 'age',
  goal: { op: '>=', value: 0.75, of: 'ratio' },
});
const base = median([0, 1, 2].map(() => rss(`"${process.execPath}" -e 0`)));
// GNU time's %M for a pipeline is the peak of its largest process: ours.
for (const [k, c] of [['encrypt', jobs['ours enc']], ['decrypt', jobs['ours dec']]]) {
  const m = rss(c, env);
  row({ id: `pipe-rss-${k}`, what: `peak RSS, ${k} through pipes, over \`node -e 0\` (${base.toFixed(0)} MiB)`, unit: 'MiB', ours: m - base, goal: { op: '<=', value: 32, of: 'ours' }, higherIsBetter: false });
}
for (const n of ['in', 'enc', 'age', 'out', 'id']) rmSync(f(n), { force: true });
