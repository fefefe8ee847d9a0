// Line mode against the Python loop a user would write instead (bench/py_lines.py:
// read a line, AESGCM(key).encrypt(os.urandom(12), line, None), write base64
// JSON), run with the newest `cryptography` on the machine (python3 on PATH),
// whose version is printed. Same records (100-byte NDJSON), same run,
// interleaved rounds, medians.
//   node bench/lines.mjs [RECORDS] [ROUNDS]     (defaults: 200000, 5)
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bin, median, report, root, sh } from './lib.mjs';

const n = Number(process.argv[2] ?? 200000);
const rounds = Number(process.argv[3] ?? 5);
const key = randomBytes(32).toString('hex');
const env = { ...process.env, AES_PAYLOAD_KEY: key };
const record = (i) => {
  const head = `{"id":${i},"user":"u${i % 1000}","note":"`;
  return `${head}${'x'.repeat(100 - head.length - 2)}"}`;
};
const f = (x) => `/dev/shm/aes-payload-lines.${x}`;
writeFileSync(f('in'), `${Array.from({ length: n }, (_, i) => record(i)).join('\n')}\n`);
const py = join(root, 'bench/py_lines.py');
const version = spawnSync('python3', ['-c', 'import cryptography, sys; print(cryptography.__version__, sys.version.split()[0])']).stdout.toString().trim();
const node = `"${process.execPath}" "${bin}"`;
sh(`${node} encrypt --lines < ${f('in')} > ${f('enc')} 2>/dev/null`, env);
sh(`python3 ${py} encrypt ${key} < ${f('in')} > ${f('pyenc')} 2>/dev/null`, env);
const jobs = {
  'ours enc': `${node} encrypt --lines < ${f('in')} > ${f('out')} 2>/dev/null`,
  'py enc': `python3 ${py} encrypt ${key} < ${f('in')} > ${f('out')} 2>/dev/null`,
  'ours dec': `${node} decrypt --lines < ${f('enc')} > /dev/null 2>/dev/null`,
  'py dec': `python3 ${py} decrypt ${key} < ${f('pyenc')} > /dev/null 2>/dev/null`,
};
const t = Object.fromEntries(Object.keys(jobs).map((k) => [k, []]));
for (let i = 0; i < rounds; i++) for (const [k, c] of Object.entries(jobs)) t[k].push(sh(c, env));
const rate = (k) => n / (median(t[k]) / 1000);
console.log(`line mode, ${n} records of 100 bytes, median of ${rounds} interleaved rounds; Python loop with cryptography ${version}:`);
report('encrypt --lines', rate('ours enc'), 'Python loop', rate('py enc'), 'lines/s', 1.5);
report('decrypt --lines', rate('ours dec'), 'Python loop', rate('py dec'), 'lines/s', 1.5);
for (const x of ['in', 'enc', 'pyenc', 'out']) rmSync(f(x), { force: true });
