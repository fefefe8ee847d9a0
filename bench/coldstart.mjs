// Cold start: `echo '{"a":1}' | aes-payload encrypt` against `node -e 0`,
// interleaved in one run (these machines are noisy), median of N runs each.
// Prints the medians and their ratio. Usage: node bench/coldstart.mjs [N]
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const n = Number(process.argv[2] ?? 30);
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
const b = median(base);
const o = median(ours);
console.log(`cold start, median of ${n}: node -e 0 ${b.toFixed(1)} ms, aes-payload encrypt ${o.toFixed(1)} ms, ratio ${(o / b).toFixed(2)}x (target 1.25x)`);
if (haveSea) {
  const s = median(seaTimes);
  console.log(`  single executable (${(statSync(sea).size / 1048576).toFixed(1)} MiB): ${s.toFixed(1)} ms, ratio ${(s / b).toFixed(2)}x`);
}
