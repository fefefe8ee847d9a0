// Cold start: `echo '{"a":1}' | aes-payload encrypt` against `node -e 0`,
// alternating in one run (these machines are noisy), N runs each, medians
// with min and max, from the npm bin and from the single executable (when
// `npm run package` has built it).
//   node bench/coldstart.mjs [N] [--quick]   (default 21; quick: 11)
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { args, bin, quick, root, row, stats } from './lib.mjs';

const n = Number(args[0] ?? (quick ? 11 : 21));
// As a user's shell starts it: NODE_EXTRA_CA_CERTS makes every Node process parse a CA
// bundle at start-up (node -e 0 included), and NODE_OPTIONS may add anything; both unset.
// When they are set here, the start-up with them is reported as well.
const key = randomBytes(32).toString('hex');
const given = { ...process.env, AES_PAYLOAD_KEY: key };
const env = { ...given };
delete env.NODE_EXTRA_CA_CERTS;
delete env.NODE_OPTIONS;
const extra = given.NODE_EXTRA_CA_CERTS !== undefined || given.NODE_OPTIONS !== undefined;

function time(argv, input, cmd = process.execPath, e = env) {
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, argv, { input, env: e });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed: ${r.stderr}`);
  return Number(process.hrtime.bigint() - t) / 1e6;
}

// The single executable too, when `npm run package` has built it.
const sea = join(root, `dist/aes-payload-${process.platform}-${process.arch}`);
const haveSea = existsSync(sea);
const base = [];
const ours = [];
const seaTimes = [];
for (let i = 0; i < 3; i++) {
  time(['-e', '0'], '');
  time([bin, 'encrypt'], '{"a":1}\n');
  if (haveSea) time(['encrypt'], '{"a":1}\n', sea);
}
for (let i = 0; i < n; i++) {
  base.push(time(['-e', '0'], ''));
  ours.push(time([bin, 'encrypt'], '{"a":1}\n'));
  if (haveSea) seaTimes.push(time(['encrypt'], '{"a":1}\n', sea));
}
console.log(`cold start of a small encrypt, ${n} alternating runs, median (min–max):`);
const goal = { op: '<=', value: 1.2, of: 'ratio' };
row({ id: 'cold-npm', what: 'cold start, `echo \'{"a":1}\' | aes-payload encrypt` (npm bin)', unit: 'ms', ours: stats(ours), peer: stats(base), peerName: '`node -e 0`', goal, higherIsBetter: false });
if (extra) {
  const b2 = [];
  const o2 = [];
  for (let i = 0; i < n; i++) {
    b2.push(time(['-e', '0'], '', process.execPath, given));
    o2.push(time([bin, 'encrypt'], '{"a":1}\n', process.execPath, given));
  }
  const set = ['NODE_EXTRA_CA_CERTS', 'NODE_OPTIONS'].filter((v) => given[v] !== undefined).map((v) => `\`${v}\``).join(' and ');
  row({ id: 'cold-npm-env', what: `cold start, the same, with this machine's ${set} (every Node process pays for it)`, unit: 'ms', ours: stats(o2), peer: stats(b2), peerName: '`node -e 0`', goal, higherIsBetter: false });
}
if (haveSea) {
  row({ id: 'cold-sea', what: `cold start, the same, single executable (${(statSync(sea).size / 1048576).toFixed(1)} MiB)`, unit: 'ms', ours: stats(seaTimes), peer: stats(base), peerName: '`node -e 0`', goal, higherIsBetter: false });
}
