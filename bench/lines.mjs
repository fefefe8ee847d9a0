// Line mode throughput: lines/s for 100-byte NDJSON records through
// `aes-payload encrypt --lines` (and decrypt --lines), against a shell loop
// that calls `openssl enc` once per line, from the same run.
//   node bench/lines.mjs [LINES]   (default 300000; the shell loop gets 1/300 of them)
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'bin/aes-payload.js');
const n = Number(process.argv[2] ?? 300000);
const key = randomBytes(32).toString('hex');
const env = { ...process.env, AES_PAYLOAD_KEY: key };
const record = (i) => {
  const head = `{"id":${i},"user":"u${i % 1000}","note":"`;
  return `${head}${'x'.repeat(100 - head.length - 2)}"}`;
};
const lines = Array.from({ length: n }, (_, i) => record(i)).join('\n') + '\n';
if (record(1).length !== 100) throw new Error('record is not 100 bytes');
const dir = tmpdir();
const inFile = join(dir, 'aes-payload-lines.ndjson');
const encFile = join(dir, 'aes-payload-lines.enc');
writeFileSync(inFile, lines);

function timed(cmd, args, opts) {
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { env, maxBuffer: 1 << 30, ...opts });
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}`);
  return { ms: Number(process.hrtime.bigint() - t) / 1e6, r };
}
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

const enc = [];
const dec = [];
for (let i = 0; i < 3; i++) {
  enc.push(timed('sh', ['-c', `"${process.execPath}" "${bin}" encrypt --lines < "${inFile}" > "${encFile}"`]).ms);
  dec.push(timed('sh', ['-c', `"${process.execPath}" "${bin}" decrypt --lines < "${encFile}" > /dev/null`]).ms);
}
const m = Math.max(100, Math.floor(n / 300));
const loopFile = join(dir, 'aes-payload-lines-loop.ndjson');
writeFileSync(loopFile, lines.split('\n').slice(0, m).join('\n') + '\n');
const iv = '00'.repeat(16);
const loop = timed('sh', ['-c', `while IFS= read -r line; do printf '%s' "$line" | openssl enc -aes-256-ctr -K ${key} -iv ${iv} -a -A; echo; done < "${loopFile}" > /dev/null`]).ms;

const encRate = n / (median(enc) / 1000);
const decRate = n / (median(dec) / 1000);
const loopRate = m / (loop / 1000);
console.log(`line mode, ${n} records of 100 bytes, median of 3 (${execFileSync('nproc').toString().trim()} cores; one core used):`);
console.log(`  encrypt --lines ${encRate.toFixed(0)} lines/s (target 150000), decrypt --lines ${decRate.toFixed(0)} lines/s`);
console.log(`  shell loop of openssl enc, ${m} lines: ${loopRate.toFixed(0)} lines/s; encrypt --lines is ${(encRate / loopRate).toFixed(0)}x that`);
for (const f of [inFile, encFile, loopFile]) rmSync(f, { force: true });
