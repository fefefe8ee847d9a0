// Attack class 6: inputs that ask for unbounded work. Every limit gives a
// clear error (exit 4) before the work is done. Nothing here measures speed:
// the limits are checked by their errors, and vitest's test timeout is only a
// backstop against a hang, far above what the bounded code needs.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { headerMac, streamKeys } from '../../src/crypto/stream.js';
import { encryptStream } from '../../src/formats/stream/pipeline.js';
import type { Sink } from '../../src/formats/stream/sink.js';
import { BIN, baseEnv } from '../helpers.js';
import { KEY, cli, enc, refused, workspace } from './attack.js';

const { file } = workspace();
const PASS = { P: 'correct horse battery staple' };
const b64u = (b: Buffer | string) => Buffer.from(b).toString('base64url');

function scryptEnvelope(v: number, N: number, r: number, p: number): string {
  return JSON.stringify({ v, alg: 'A256GCM', kdf: { name: 'scrypt', salt: randomBytes(16).toString('base64'), N, r, p }, nonce: randomBytes(12).toString('base64'), data: 'AAAA', mac: randomBytes(16).toString('base64') });
}

describe('hostile work is bounded', () => {
  it('one scrypt envelope at the old caps (N=2^20, r=8, p=4) is refused before deriving', () => {
    for (const [v, extra] of [[2, []], [1, ['--allow-legacy']]] as const) {
      const line = refused(cli(['decrypt', '--passphrase-env', 'P', ...extra], scryptEnvelope(v, 2 ** 20, 8, 4), PASS), 4);
      expect(line).toMatch(/scrypt cost/);
    }
    // just under the per-input cap is accepted as far as the KDF (then fails at the tag)
    expect(cli(['decrypt', '--passphrase-env', 'P'], scryptEnvelope(2, 2 ** 15, 8, 1), PASS).code).toBe(1);
  });

  it('line mode has a total KDF budget for the run', () => {
    const one = enc(['--passphrase-env', 'P'], 'x', PASS).trim();
    const input = `${Array.from({ length: 10 }, () => one).join('\n')}\n`;
    const r = cli(['decrypt', '--lines', '--passphrase-env', 'P'], input, { ...PASS, AES_PAYLOAD_KDF_BUDGET: '0.5' });
    expect(r.code, r.stderr).toBe(4);
    expect(r.out.split('\n')[0]).toBe('x');
    expect(r.out.split('\n').filter((l) => l === 'x').length).toBeLessThan(10);
    expect(r.stderr).toMatch(/budget/);
    expect(r.stderr).toMatch(/AES_PAYLOAD_KDF_BUDGET/);
  });

  it('multi-file verify shares the budget', () => {
    const files = Array.from({ length: 8 }, (_, i) => file(`p${i}.json`, enc(['--passphrase-env', 'P'], 'x', PASS)));
    const r = cli(['verify', '--passphrase-env', 'P', ...files], '', { ...PASS, AES_PAYLOAD_KDF_BUDGET: '0.3' });
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toMatch(/^OK /m);
    expect(r.stderr).toMatch(/budget/);
  });

  it('a general JWE with 64 PBES2 recipients at p2c 1,000,000 is refused at once', () => {
    const p = b64u(JSON.stringify({ enc: 'A256GCM' }));
    const recipients = Array.from({ length: 64 }, () => ({ header: { alg: 'PBES2-HS512+A256KW', p2s: b64u(randomBytes(16)), p2c: 1_000_000 }, encrypted_key: b64u(randomBytes(40)) }));
    const jwe = JSON.stringify({ protected: p, recipients, iv: b64u(randomBytes(12)), ciphertext: b64u('x'), tag: b64u(randomBytes(16)) });
    refused(cli(['decrypt', '--passphrase-env', 'P'], jwe, PASS), 4);
    // even a few recipients, if their PBES2 work together is over the per-input cap
    const few = JSON.stringify({ protected: p, recipients: recipients.slice(0, 3), iv: b64u(randomBytes(12)), ciphertext: b64u('x'), tag: b64u(randomBytes(16)) });
    const line = refused(cli(['decrypt', '--passphrase-env', 'P'], few, PASS), 4);
    expect(line).toMatch(/PBES2/);
  });

  it('a stream header asking for 16 MiB chunks is refused', () => {
    const salt = randomBytes(16);
    const body = Buffer.alloc(36);
    Buffer.from('AESPSTRM').copy(body, 0);
    body[8] = 1;
    body[9] = 3;
    body[10] = 24;
    Buffer.from('0000000000000000', 'hex').copy(body, 12);
    salt.copy(body, 20);
    const k = streamKeys(KEY, salt, body);
    const line = refused(cli(['decrypt'], Buffer.concat([body, headerMac(k.mac, body), randomBytes(100)])), 4);
    expect(line).toMatch(/chunk size/);
  });

  it('decrypting a stream of 1 MiB chunks (the largest allowed) stays in bounded memory', async () => {
    const parts: Buffer[] = [];
    const sink: Sink = { write: async (b) => void parts.push(Buffer.from(b)), commit() {}, abort() {}, written: 0 };
    const plain = randomBytes(48 * 1024 * 1024);
    let at = 0;
    await encryptStream({ read: (buf) => { const n = plain.copy(buf, 0, at); at += n; return n; } }, sink, KEY, { chunkLog2: 20 });
    const p = file('big.aesp', Buffer.concat(parts));
    const base = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, '-e', '0'], { encoding: 'utf8' });
    const r = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, BIN, 'decrypt', p, '-o', `${p}.out`], { env: baseEnv({ AES_PAYLOAD_KEY: KEY.toString('hex') }), encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const kib = (s: string) => Number(s.trim().split('\n').at(-1));
    const extraMiB = (kib(r.stderr) - kib(base.stderr)) / 1024;
    expect(extraMiB).toBeLessThan(64);
  });

  it('path matching is linear: "**" several times over a 500-deep document', () => {
    const depth = 500;
    const doc = `${'{"a":'.repeat(depth)}{"b":"secret"}${'}'.repeat(depth)}\n`;
    const out = enc(['--fields', '**.a.**.a.**.a.**.b'], doc);
    expect(out).not.toContain('secret');
    const v = cli(['verify', '--require', '**.a.**.a.**.a.**.b'], out);
    expect(v.code, v.stderr).toBe(0);
    const d = cli(['decrypt'], out);
    expect(d.out).toBe(doc);
  });

  it('a key, passphrase, keyring or .ini "file" without end (/dev/zero) is read no further than 1 MiB: exit 3', () => {
    for (const flag of ['--key-file', '--passphrase-file', '--keyring', '--ini']) {
      const line = refused(cli(['encrypt', flag, '/dev/zero', '-'], 'x', {}), 3);
      expect(line).toMatch(/too large/);
    }
  });
});
