// PKCS#11 key custody against a real SoftHSM2 token (Debian softhsm2, with
// opensc's pkcs11-tool to make keys): the AES key stays in the token and
// wraps a fresh content key per message (JWE A256GCMKW, computed by the HSM).
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compactDecrypt, flattenedDecrypt } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { run, tempDir } from '../helpers.js';

const MODULE = '/usr/lib/softhsm/libsofthsm2.so';
const dir = tempDir();
const conf = join(dir, 'softhsm2.conf');
const known = randomBytes(32);
let env: Record<string, string>;

function sh(cmd: string, args: string[]) {
  const r = spawnSync(cmd, args, { env: { ...process.env, SOFTHSM2_CONF: conf }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

beforeAll(() => {
  writeFileSync(conf, `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  spawnSync('mkdir', ['-p', join(dir, 'tokens')]);
  sh('softhsm2-util', ['--init-token', '--free', '--label', 'aesp-test', '--pin', '1234', '--so-pin', '000000']);
  // A key made inside the token (never extractable), and one imported from known bytes, to check the output with jose.
  sh('pkcs11-tool', ['--module', MODULE, '--token-label', 'aesp-test', '--login', '--pin', '1234', '--keygen', '--key-type', 'AES:32', '--label', 'payload-kek', '--id', '01']);
  const kf = join(dir, 'known.key');
  writeFileSync(kf, known);
  sh('pkcs11-tool', ['--module', MODULE, '--token-label', 'aesp-test', '--login', '--pin', '1234', '--write-object', kf, '--type', 'secrkey', '--key-type', 'AES:32', '--label', 'known-kek', '--id', '02', '--usage-decrypt']);
  env = { SOFTHSM2_CONF: conf, AES_PAYLOAD_PKCS11_MODULE: MODULE, HSM_PIN: '1234' };
});

const URI = 'pkcs11:token=aesp-test;object=payload-kek;type=secret-key';
const k = (uri = URI) => ['--key-uri', uri, '--pin-env', 'HSM_PIN'];

describe('PKCS#11 (SoftHSM2)', () => {
  it('round trips, compact and JSON JWE; the header says A256GCMKW and names the object; every message gets a fresh wrapped key', () => {
    const a = run(['encrypt', ...k()], { env, input: '{"secret":1}' });
    expect(a.code, a.stderr).toBe(0);
    const b = run(['encrypt', ...k()], { env, input: '{"secret":1}' });
    const header = JSON.parse(Buffer.from(a.out.split('.')[0]!, 'base64url').toString());
    expect(header).toMatchObject({ alg: 'A256GCMKW', enc: 'A256GCM', kid: 'payload-kek' });
    expect(a.out.split('.')[1]).not.toBe(b.out.split('.')[1]);
    const d = run(['decrypt', ...k()], { env, input: a.out });
    expect(d.code, d.stderr).toBe(0);
    expect(d.out).toBe('{"secret":1}');
    const j = run(['encrypt', '--format', 'jwe-json', ...k()], { env, input: 'json serialization' });
    expect(JSON.parse(j.out).protected).toBeDefined();
    expect(run(['decrypt', ...k()], { env, input: j.out }).out).toBe('json serialization');
    expect(run(['verify', ...k(), '-'], { env, input: a.out }).code).toBe(0);
  });

  it('the output is a standard JWE: jose opens it with the key bytes (a key imported into the token for this check)', async () => {
    const uri = 'pkcs11:token=aesp-test;object=known-kek';
    const c = run(['encrypt', ...k(uri)], { env, input: 'checked by jose' });
    expect(c.code, c.stderr).toBe(0);
    expect(Buffer.from((await compactDecrypt(c.out.trim(), known)).plaintext).toString()).toBe('checked by jose');
    const f = run(['encrypt', '--format', 'jwe-json', ...k(uri)], { env, input: 'flattened' });
    expect(Buffer.from((await flattenedDecrypt(JSON.parse(f.out), known)).plaintext).toString()).toBe('flattened');
  });

  it('a wrong PIN is exit 3; a missing object, token or module is exit 3; a PIN in the URI is refused (exit 2)', () => {
    const enc = run(['encrypt', ...k()], { env, input: 'x' }).out;
    const wrong = run(['decrypt', ...k()], { env: { ...env, HSM_PIN: '9999' }, input: enc });
    expect(wrong.code).toBe(3);
    expect(wrong.stderr).toMatch(/refused the PIN/);
    expect(wrong.stderr).not.toContain('9999');
    const missing = run(['decrypt', ...k('pkcs11:token=aesp-test;object=no-such-key')], { env, input: enc });
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/no AES secret key with object "no-such-key"/);
    expect(run(['decrypt', ...k('pkcs11:token=other;object=payload-kek')], { env, input: enc }).code).toBe(3);
    expect(run(['decrypt', ...k(), '--pkcs11-module', join(dir, 'nope.so')], { env, input: enc }).code).toBe(3);
    const pin = run(['decrypt', '--key-uri', `${URI}?pin-value=1234`], { env, input: enc });
    expect(pin.code).toBe(2);
    // No --pin-env and no terminal: a prompt cannot be shown.
    expect(run(['decrypt', '--key-uri', URI], { env, input: enc }).code).toBe(3);
  });

  it('a tampered wrapped key, IV or tag is exit 1 with the uniform message and no output', () => {
    const enc = run(['encrypt', ...k()], { env, input: 'do not release' }).out.trim();
    const [h, ek, iv, ct, tag] = enc.split('.');
    const flip = (s: string) => {
      const b = Buffer.from(s, 'base64url');
      b[0]! ^= 1;
      return b.toString('base64url');
    };
    const hdr = JSON.parse(Buffer.from(h!, 'base64url').toString());
    const rehead = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    for (const m of [
      [h, flip(ek!), iv, ct, tag],
      [rehead({ ...hdr, tag: flip(hdr.tag) }), ek, iv, ct, tag],
      [rehead({ ...hdr, iv: flip(hdr.iv) }), ek, iv, ct, tag],
      [h, ek, iv, flip(ct!), tag],
    ]) {
      const r = run(['decrypt', ...k()], { env, input: m.join('.') });
      expect(r.code, r.stderr).toBe(1);
      expect(r.out).toBe('');
      expect(r.stderr).toMatch(/^aes-payload: authentication failed: wrong key or tampered data/);
    }
  });

  it('--key-uri writes JWE only, and the key never appears in the output or on stderr', () => {
    expect(run(['encrypt', '--format', 'json', ...k()], { env, input: 'x' }).code).toBe(2);
    expect(run(['encrypt', '--fields', 'a', ...k()], { env, input: '{"a":1}' }).code).toBe(2);
    const uri = 'pkcs11:token=aesp-test;object=known-kek';
    const r = run(['encrypt', ...k(uri)], { env, input: 'x' });
    for (const form of [known.toString('hex'), known.toString('base64'), known.toString('base64url')]) {
      expect(r.out).not.toContain(form);
      expect(r.stderr).not.toContain(form);
    }
  });
});
