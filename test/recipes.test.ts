// Recipes with other engines (issue 21). GNU parallel: `parallel --pipe -k
// --block 4M aes-payload encrypt --lines` over a multi-MB NDJSON file gives
// output that decrypts, line by line and in order, to what one process's
// output decrypts to (the ciphertexts differ: each has its own nonce).
// Spark: the raw format is Spark's aes_encrypt(…, 'GCM') layout (a 12-byte
// IV, the ciphertext, a 16-byte tag), so the GCM examples of Spark's own
// aes_decrypt documentation decrypt with `--format raw --key-encoding utf8`,
// and our raw output opens the way Spark opens it (checked with Python's
// cryptography, as Spark is not installed here).
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, HANG_MS, PYTHON, baseEnv, run, runPeer, tempDir, vector } from './helpers.js';

const dir = tempDir();
const key = randomBytes(32).toString('hex');
const env = { AES_PAYLOAD_KEY: key };

describe('GNU parallel', () => {
  it('parallel --pipe -k --block 4M aes-payload encrypt --lines gives what one process gives, decrypted line by line and in order', () => {
    // About 10 MB: three blocks of 4 MB or less, so at least three jobs.
    const lines = Array.from({ length: 36_000 }, (_, i) => JSON.stringify({ id: i, email: `user${i}@example.com`, note: 'x'.repeat(200 + (i % 97)) }));
    const input = join(dir, 'in.ndjson');
    writeFileSync(input, `${lines.join('\n')}\n`);
    // `aes-payload` as a user's PATH would have it (the built CLI).
    writeFileSync(join(dir, 'aes-payload'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`, { mode: 0o755 });
    const joblog = join(dir, 'jobs.log');
    const sh = (cmd: string) => spawnSync('bash', ['-o', 'pipefail', '-c', cmd], { env: baseEnv({ ...env, PATH: `${dir}:${process.env.PATH}` }), cwd: dir, timeout: HANG_MS, maxBuffer: 1 << 30 });
    const par = sh(`parallel --will-cite --joblog ${joblog} --pipe -k --block 4M aes-payload encrypt --lines < in.ndjson > par.enc`);
    expect(par.status, par.stderr.toString()).toBe(0);
    const one = sh('aes-payload encrypt --lines < in.ndjson > one.enc');
    expect(one.status, one.stderr.toString()).toBe(0);
    // More than one job ran (the joblog has a header line, then one line per job).
    expect(readFileSync(joblog, 'utf8').trim().split('\n').length - 1).toBeGreaterThanOrEqual(3);
    const parEnc = readFileSync(join(dir, 'par.enc'), 'utf8');
    const oneEnc = readFileSync(join(dir, 'one.enc'), 'utf8');
    expect(parEnc.split('\n').length).toBe(oneEnc.split('\n').length);
    expect(parEnc).not.toBe(oneEnc);
    const dp = sh('aes-payload decrypt --lines < par.enc');
    const d1 = sh('aes-payload decrypt --lines < one.enc');
    expect(dp.status).toBe(0);
    expect(d1.status).toBe(0);
    expect(dp.stdout.equals(d1.stdout)).toBe(true);
    expect(dp.stdout.toString()).toBe(readFileSync(input, 'utf8'));
  });
});

interface SparkExample { sql: string; hex?: string; base64?: string; key: string; aad?: string; result: string }

describe('Spark aes_decrypt(…, GCM)', () => {
  const examples = vector<{ examples: SparkExample[] }>('spark_aes_decrypt_examples.json').examples;

  it.each(examples.map((e) => [e.sql, e] as const))('decrypts the example of Spark\'s documentation: %s', (_, e) => {
    const b64 = e.base64 ?? Buffer.from(e.hex!, 'hex').toString('base64');
    const r = run(['decrypt', '--format', 'raw', '--key-env', 'SPARK_KEY', '--key-encoding', 'utf8', ...(e.aad !== undefined ? ['--aad', e.aad] : [])], { input: b64, env: { SPARK_KEY: e.key } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.out).toBe(e.result);
  });

  it('our raw output opens the way Spark opens GCM input: IV = the first 12 bytes, then ciphertext and 16-byte tag, AAD as given', () => {
    const sparkKey = 'abcdefghijklmnop12345678ABCDEFGH';
    const enc = run(['encrypt', '--format', 'raw', '--key-env', 'SPARK_KEY', '--key-encoding', 'utf8', '--aad', 'row 7'], { input: 'Spark reads this', env: { SPARK_KEY: sparkKey } });
    expect(enc.code, enc.stderr).toBe(0);
    const py = runPeer(PYTHON, ['-c', [
      'import base64, sys',
      'from cryptography.hazmat.primitives.ciphers.aead import AESGCM',
      'b = base64.b64decode(sys.stdin.read())',
      'sys.stdout.write(AESGCM(sys.argv[1].encode()).decrypt(b[:12], b[12:], sys.argv[2].encode()).decode())',
    ].join('\n'), sparkKey, 'row 7'], enc.out);
    expect(py.code, py.stderr).toBe(0);
    expect(py.out).toBe('Spark reads this');
  });
});
