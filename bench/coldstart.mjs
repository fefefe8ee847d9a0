// Cold start: `echo '{"a":1}' | aes-payload encrypt` against `node -e 0`,
// alternating in one run (these machines are noisy), median of N runs each,
// from the npm bin and from the single executable (when `npm run package`
// has built it). Usage: node bench/coldstart.mjs [N]   (default 21)
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { report } from './lib.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const n = Number(process.argv[2] ?? 21);
const env = { ...process.env, AES_PAYLOAD_KEY: randomBytes(32).toString('hex') };

function time(args, input, cmd = process.execPath) {
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { input, env });
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed: ${r.stderr}`);
  return Number(process.hrtime.bigint() - t) / 1e6;
}
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

// The single executable too, when `npm run package` has built it.
const sea = join(root, `dist/aes-payload-${process.platform}-${process.arch}`);
const haveSea = existsSync(sea);
const base = [];
const ours = [];
const seaTimes = [];
for (let i = 0; i < 3; i++) {
  time(['-e', '0'], '');
  time([join(root, 'bin/aes-payload.js'), 'encrypt'], '{"a":1}\n');
  if (haveSea) time(['encrypt'], '{"a":1}\n', sea);
}
for (let i = 0; i < n; i++) {
  base.push(time(['-e', '0'], ''));
  ours.push(time([join(root, 'bin/aes-payload.js'), 'encrypt'], '{"a":1}\n'));
  if (haveSea) seaTimes.push(time(['encrypt'], '{"a":1}\n', sea));
}
console.log(`cold start of a small encrypt, median of ${n} alternating runs (lower is better; the ratio is ours / node -e 0, goal: at most 1.25x):`);
const b = median(base);
const ratio = median(ours) / b;
report('npm bin (bin/aes-payload.js)', median(ours), 'node -e 0', b, 'ms');
console.log(`    ours / node -e 0 = ${ratio.toFixed(2)}x: goal 1.25x ${ratio <= 1.25 ? 'met' : 'missed'}`);
if (haveSea) {
  const s = median(seaTimes);
  report(`single executable (${(statSync(sea).size / 1048576).toFixed(1)} MiB)`, s, 'node -e 0', b, 'ms');
  console.log(`    ours / node -e 0 = ${(s / b).toFixed(2)}x: goal 1.25x ${s / b <= 1.25 ? 'met' : 'missed'}`);
}
