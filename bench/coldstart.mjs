// Cold start: `echo '{"a":1}' | aes-payload encrypt` against `node -e 0`,
// interleaved in one run (these machines are noisy), median of N runs each.
// Prints the medians and their ratio. Usage: node bench/coldstart.mjs [N]
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const n = Number(process.argv[2] ?? 30);
const env = { ...process.env, AES_PAYLOAD_KEY: randomBytes(32).toString('hex') };

function time(args, input) {
  const t = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { input, env });
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed: ${r.stderr}`);
  return Number(process.hrtime.bigint() - t) / 1e6;
}
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

const base = [];
const ours = [];
for (let i = 0; i < 3; i++) {
  time(['-e', '0'], '');
  time([join(root, 'bin/aes-payload.js'), 'encrypt'], '{"a":1}\n');
}
for (let i = 0; i < n; i++) {
  base.push(time(['-e', '0'], ''));
  ours.push(time([join(root, 'bin/aes-payload.js'), 'encrypt'], '{"a":1}\n'));
}
const b = median(base);
const o = median(ours);
console.log(`cold start, median of ${n}: node -e 0 ${b.toFixed(1)} ms, aes-payload encrypt ${o.toFixed(1)} ms, ratio ${(o / b).toFixed(2)}x`);
