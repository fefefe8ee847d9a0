// Line mode against the Python loop a user would write instead (bench/py_lines.py:
// read a line, AESGCM(key).encrypt(os.urandom(12), line, None), write base64
// JSON), run with the newest `cryptography` on the machine (python3 on PATH),
// whose version is recorded. Same records (100-byte NDJSON), same run,
// interleaved rounds, medians with min and max. Then the live filter: how
// long a line written into a pipe that stays open takes to come out.
//   node bench/lines.mjs [RECORDS] [ROUNDS] [--quick]     (defaults: 200000, 5; quick: 50000, 3)
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as pause } from 'node:timers/promises';
import { args, bin, fact, interleave, quick, root, row, sh, stats } from './lib.mjs';

const n = Number(args[0] ?? (quick ? 50000 : 200000));
const rounds = Number(args[1] ?? (quick ? 3 : 5));
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
const [cryptoVersion, pyVersion] = version.split(' ');
fact('Python loop', `Python ${pyVersion}, cryptography ${cryptoVersion} (python3 on PATH)`);
const node = `"${process.execPath}" "${bin}"`;
sh(`${node} encrypt --lines < ${f('in')} > ${f('enc')} 2>/dev/null`, env);
sh(`python3 ${py} encrypt ${key} < ${f('in')} > ${f('pyenc')} 2>/dev/null`, env);
const jobs = {
  'ours enc': `${node} encrypt --lines < ${f('in')} > ${f('out')} 2>/dev/null`,
  'py enc': `python3 ${py} encrypt ${key} < ${f('in')} > ${f('out')} 2>/dev/null`,
  'ours dec': `${node} decrypt --lines < ${f('enc')} > /dev/null 2>/dev/null`,
  'py dec': `python3 ${py} decrypt ${key} < ${f('pyenc')} > /dev/null 2>/dev/null`,
};
const t = interleave(jobs, rounds, (c) => sh(c, env));
const rate = (k) => stats(t[k], (ms) => n / (ms / 1000));
console.log(`line mode, ${n} records of 100 bytes, ${rounds} interleaved rounds, median (min–max); Python loop with cryptography ${cryptoVersion}:`);
row({ id: 'lines-enc', what: `\`encrypt --lines\`, ${n.toLocaleString('en-US')} records of 100 bytes`, unit: 'lines/s', ours: rate('ours enc'), peer: rate('py enc'), peerName: 'Python loop', goal: { op: '>=', value: 1.5, of: 'ratio' } });
row({ id: 'lines-dec', what: '`decrypt --lines`, the same', unit: 'lines/s', ours: rate('ours dec'), peer: rate('py dec'), peerName: 'Python loop', goal: { op: '>=', value: 2.0, of: 'ratio' } });

// Live: lines written one at a time into a named pipe the bench holds open,
// each timed from its write to its output line; after `warm` lines of fast
// input (so that, past 4,096 lines, the worker threads are running).
async function latency(argv, input, warm) {
  const dir = mkdtempSync('/dev/shm/aes-payload-live.');
  const fifo = join(dir, 'in');
  spawnSync('mkfifo', [fifo]);
  const child = spawn('sh', ['-c', 'exec "$@" < "$0"', fifo, process.execPath, bin, ...argv, '--on-error', 'record'], { env, stdio: ['ignore', 'pipe', 'ignore'] });
  const fh = await open(fifo, 'w');
  let buffered = '';
  let wake;
  child.stdout.setEncoding('latin1');
  child.stdout.on('data', (s) => {
    buffered += s;
    wake?.();
  });
  let closed = false;
  child.on('close', () => {
    closed = true;
    wake?.();
  });
  // Every input line has its output line (--on-error record), so this never waits for one that will not come.
  const lines = async (k) => {
    for (;;) {
      const parts = buffered.split('\n');
      if (parts.length - 1 >= k) {
        buffered = parts.slice(k).join('\n');
        return;
      }
      if (closed) throw new Error(`live ${argv.join(' ')}: the process ended before ${k} lines came out`);
      await new Promise((r) => (wake = r));
    }
  };
  await fh.write(warm.map((i) => input(i)).join(''));
  await lines(warm.length);
  const ms = [];
  for (let i = 0; i < (quick ? 20 : 50); i++) {
    const t0 = process.hrtime.bigint();
    await fh.write(input(100000 + i));
    await lines(1);
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
    await pause(10);
  }
  await fh.close();
  await new Promise((r) => child.on('close', r));
  rmSync(dir, { recursive: true, force: true });
  return stats(ms);
}
const warm = Array.from({ length: 5000 }, (_, i) => i);
const encLine = (i) => `${record(i)}\n`;
const encrypted = spawnSync(process.execPath, [bin, 'encrypt', '--lines'], { env, input: Array.from({ length: 100100 }, (_, i) => encLine(i)).join(''), maxBuffer: 1 << 30 }).stdout.toString().split('\n');
if (encrypted.length !== 100101) throw new Error('encrypt --lines for the live decrypt input failed');
const decLine = (i) => `${encrypted[i]}\n`;
console.log('live line mode: a line written into a pipe that stays open, to its output line, after 5,000 lines of fast input (median of the per-line times, min–max):');
const live = { op: '<=', value: 100, of: 'ours' };
row({ id: 'live-enc', what: 'live `encrypt --lines`: one line in, its line out', unit: 'ms', ours: await latency(['encrypt', '--lines'], encLine, warm), goal: live, higherIsBetter: false });
row({ id: 'live-fields', what: 'live `encrypt --lines --fields note`', unit: 'ms', ours: await latency(['encrypt', '--lines', '--fields', 'note'], encLine, warm), goal: live, higherIsBetter: false });
row({ id: 'live-dec', what: 'live `decrypt --lines`', unit: 'ms', ours: await latency(['decrypt', '--lines'], decLine, warm), goal: live, higherIsBetter: false });
for (const x of ['in', 'enc', 'pyenc', 'out']) rmSync(f(x), { force: true });
