// Pipes, as a shell script uses the tool, against age (Debian) in the same run:
//   cat in | aes-payload encrypt --format stream | cat > out      (a fast consumer)
//   aes-payload decrypt < enc | sha256sum                          (a slow consumer)
// 256 MiB in /dev/shm, interleaved rounds, medians.
//   node bench/pipes.mjs [ROUNDS] [SIZE_MIB]      (defaults: 7, 256)
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import { bin, has, median, report, rss, sh } from './lib.mjs';

const rounds = Number(process.argv[2] ?? 7);
const mib = Number(process.argv[3] ?? 256);
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
const t = Object.fromEntries(Object.keys(jobs).map((k) => [k, []]));
for (let i = 0; i < rounds; i++) for (const [k, c] of Object.entries(jobs)) t[k].push(sh(c, env));
const mbs = (k) => (mib * 1.048576) / (median(t[k]) / 1000);
console.log(`pipes, ${mib} MiB, median of ${rounds} interleaved rounds (age ${execFileSync('age', ['--version']).toString().trim()}):`);
report('cat | encrypt --format stream | cat', mbs('ours enc'), 'age', mbs('age enc'), 'MB/s', 1.5);
report('decrypt < enc | sha256sum', mbs('ours dec'), 'age', mbs('age dec'), 'MB/s', 1.0);
console.log(`  (sha256sum alone: ${mbs('sha256sum alone').toFixed(0)} MB/s, the ceiling of the second line)`);
const base = median([0, 1, 2].map(() => rss(`"${process.execPath}" -e 0`)));
// GNU time's %M for a pipeline is the peak of its largest process: ours.
for (const [k, c] of [['encrypt', jobs['ours enc']], ['decrypt', jobs['ours dec']]]) {
  const m = rss(c, env);
  console.log(`  peak RSS, ${k} through pipes: ${m.toFixed(0)} MiB, node -e 0 ${base.toFixed(0)} MiB: +${(m - base).toFixed(0)} MiB (goal +32 MiB: ${m - base <= 32 ? 'met' : 'missed'})`);
}
for (const n of ['in', 'enc', 'age', 'out', 'id']) rmSync(f(n), { force: true });
