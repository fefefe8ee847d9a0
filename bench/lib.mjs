// Shared pieces of the benchmarks: timing, medians, the one report line
// every benchmark prints (our figure, the peer's from the same run, the
// ratio, the goal), and the rows that `npm run bench` (bench/run.mjs) turns
// into the README's table: when AES_PAYLOAD_BENCH_OUT names a file, every
// row is also appended to it as a line of JSON.
import { spawnSync } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const bin = join(root, 'bin/aes-payload.js');
export const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
export const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
/** `--quick` anywhere on the command line: smaller inputs, fewer rounds (a smoke run, not figures to publish). */
export const quick = process.argv.includes('--quick') || process.env.AES_PAYLOAD_BENCH_QUICK === '1';
/** Positional arguments (without --quick). */
export const args = process.argv.slice(2).filter((a) => a !== '--quick');

/** Run a shell command line (bash, pipefail); milliseconds of wall time. Fails loudly. */
export function sh(cmd, env = process.env) {
  const t = process.hrtime.bigint();
  const r = spawnSync('bash', ['-o', 'pipefail', '-c', cmd], { env, stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 30 });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd}: ${r.stderr}`);
  return ms;
}

/** Peak RSS in MiB of a command line (GNU time's %M: the largest process of it). */
export function rss(cmd, env = process.env) {
  const r = spawnSync('/usr/bin/time', ['-f', '%M', 'bash', '-o', 'pipefail', '-c', cmd], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) throw new Error(`${cmd}: ${r.stderr}`);
  return Number(r.stderr.toString().trim().split('\n').pop()) / 1024;
}

/**
 * Run every job `rounds` times, alternating (job 1, job 2, …, job 1, …), so
 * that a noisy minute hurts every job alike. Returns the samples per job.
 */
export function interleave(jobs, rounds, time = sh) {
  const t = Object.fromEntries(Object.keys(jobs).map((k) => [k, []]));
  for (let i = 0; i < rounds; i++) for (const [k, c] of Object.entries(jobs)) t[k].push(time(c));
  return t;
}

/** Median, min and max of samples, each through `f` (e.g. ms to MB/s). */
export function stats(samples, f = (x) => x) {
  const v = samples.map(f);
  return { median: median(v), min: Math.min(...v), max: Math.max(...v), n: v.length };
}

const fmt = (x) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

/**
 * Record and print one row. `ours` and `peer` are {median, min, max} (or a
 * plain median); the ratio is ours/peer for rates (`higherIsBetter`), and
 * also ours/peer for times and sizes, whose goals are then upper bounds.
 * `goal` is { op: '>=' | '<=', value, of: 'ratio' | 'ours' }.
 */
export function row({ id, what, unit, ours, peer, peerName, goal, higherIsBetter = true, note }) {
  const o = typeof ours === 'number' ? { median: ours } : ours;
  const p = peer === undefined ? undefined : typeof peer === 'number' ? { median: peer } : peer;
  const ratio = p ? o.median / p.median : undefined;
  const subject = goal?.of === 'ours' ? o.median : ratio;
  const met = goal && subject !== undefined ? (goal.op === '>=' ? subject >= goal.value : subject <= goal.value) : undefined;
  const r = { id, what, unit, higherIsBetter, ours: o, ...(p ? { peer: p, peerName } : {}), ...(ratio !== undefined ? { ratio } : {}), ...(goal ? { goal, met } : {}), ...(note ? { note } : {}) };
  const range = (s) => (s.min !== undefined ? ` (${fmt(s.min)}–${fmt(s.max)})` : '');
  const goalText = goal ? `, goal ${goal.op === '>=' ? '≥' : '≤'} ${goal.value}${goal.of === 'ours' ? ` ${unit}` : 'x'}: ${met ? 'met' : 'missed'}` : '';
  console.log(`  ${what}: ours ${fmt(o.median)}${range(o)} ${unit}${p ? `, ${peerName} ${fmt(p.median)}${range(p)} ${unit}, ratio ${ratio.toFixed(2)}x` : ''}${goalText}`);
  if (process.env.AES_PAYLOAD_BENCH_OUT) appendFileSync(process.env.AES_PAYLOAD_BENCH_OUT, `${JSON.stringify({ kind: 'row', ...r })}\n`);
  return r;
}

/** Record a fact about the run (a peer's version, an input size) for the table's header. */
export function fact(key, value) {
  if (process.env.AES_PAYLOAD_BENCH_OUT) appendFileSync(process.env.AES_PAYLOAD_BENCH_OUT, `${JSON.stringify({ kind: 'fact', key, value })}\n`);
}

/**
 * Print one line: `what: ours X unit, peer Y unit, ratio R (goal G): met|missed`
 * (the older form, kept for bench/serve.mjs), and record it as a row.
 * `higherIsBetter` for rates; for times the ratio is peer/ours.
 */
export function report(what, ours, peerName, peer, unit, goal, higherIsBetter = true) {
  const ratio = higherIsBetter ? ours / peer : peer / ours;
  const f = (x) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
  const verdict = goal === undefined ? '' : `, goal ${goal}x: ${ratio >= goal ? 'met' : 'missed'}`;
  console.log(`  ${what}: ours ${f(ours)} ${unit}, ${peerName} ${f(peer)} ${unit}, ratio ${ratio.toFixed(2)}x${verdict}`);
  if (process.env.AES_PAYLOAD_BENCH_OUT) {
    const r = { kind: 'row', id: `report:${what}`, what, unit, higherIsBetter, ours: { median: ours }, peer: { median: peer }, peerName, ratio, ...(goal !== undefined ? { goal: { op: '>=', value: goal, of: 'ratio' }, met: ratio >= goal } : {}) };
    appendFileSync(process.env.AES_PAYLOAD_BENCH_OUT, `${JSON.stringify(r)}\n`);
  }
  return ratio;
}
