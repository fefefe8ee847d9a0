// Shared pieces of the benchmarks: timing, medians, and the one report line
// every benchmark prints: our figure, the peer's from the same run, the
// ratio, and the goal.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const bin = join(root, 'bin/aes-payload.js');
export const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
export const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

/** Run a shell command line; milliseconds of wall time. Fails loudly. */
export function sh(cmd, env = process.env) {
  const t = process.hrtime.bigint();
  const r = spawnSync('sh', ['-c', cmd], { env, stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 30 });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd}: ${r.stderr}`);
  return ms;
}

/** Peak RSS in MiB of a shell command line (GNU time, counting its largest process). */
export function rss(cmd, env = process.env) {
  const r = spawnSync('/usr/bin/time', ['-f', '%M', 'sh', '-c', cmd], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  return Number(r.stderr.toString().trim().split('\n').pop()) / 1024;
}

/**
 * Print one line: `what: ours X unit, peer Y unit, ratio R (goal G): met|missed`.
 * `higherIsBetter` for rates; for times the ratio is peer/ours.
 */
export function report(what, ours, peerName, peer, unit, goal, higherIsBetter = true) {
  const ratio = higherIsBetter ? ours / peer : peer / ours;
  const f = (x) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
  const verdict = goal === undefined ? '' : `, goal ${goal}x: ${ratio >= goal ? 'met' : 'missed'}`;
  console.log(`  ${what}: ours ${f(ours)} ${unit}, ${peerName} ${f(peer)} ${unit}, ratio ${ratio.toFixed(2)}x${verdict}`);
  return ratio;
}
