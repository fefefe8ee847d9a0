// CLI sessions for JWE, RSA keys and passphrases: refusals, key mix-ups,
// cost caps, the decompression cap, keygen files. Each spawns the built CLI.
import { createCipheriv, createPublicKey, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import * as jose from 'jose';
import { describe, expect, it } from 'vitest';
import { keyId } from '../../../src/keys/kid.js';
import { AUTH_FAILED_MESSAGE } from '../../../src/errors.js';
import { oneLineError, run, tempDir } from '../../helpers.js';

const dir = tempDir();
const key = randomBytes(32);
const KEY = key.toString('hex');
const env = { AES_PAYLOAD_KEY: KEY };
const b64u = (b: Uint8Array | string) => Buffer.from(b).toString('base64url');

/** A genuine dir + A256GCM compact JWE with an arbitrary protected header. */
function craft(header: Record<string, unknown>, plaintext: Buffer | string, k: Buffer = key): string {
  const p = b64u(JSON.stringify(header));
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', k, iv);
  c.setAAD(Buffer.from(p, 'ascii'));
  const ct = Buffer.concat([c.update(plaintext), c.final()]);
  return [p, '', b64u(iv), b64u(ct), b64u(c.getAuthTag())].join('.');
}

function fail(r: ReturnType<typeof run>, code: number, msg: RegExp | string): string {
  expect(r.code, r.stderr).toBe(code);
  expect(r.out).toBe('');
  const line = oneLineError(r.stderr);
  if (typeof msg === 'string') expect(line).toBe(`aes-payload: ${msg}`);
  else expect(line).toMatch(msg);
  return line;
}

describe('keygen --alg RSA-OAEP-256', () => {
  it('writes a PKCS#8 private key (0600) and FILE.pub, shows the RFC 7638 kid, never overwrites', async () => {
    const f = join(dir, 'id.pem');
    const r = run(['keygen', '--alg', 'RSA-OAEP-256', '--bits', '2048', '-o', f]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.out).toBe('');
    expect(statSync(f).mode & 0o777).toBe(0o600);
    const priv = readFileSync(f, 'utf8');
    expect(priv).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    const pub = readFileSync(`${f}.pub`, 'utf8');
    expect(pub).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    const thumb = await jose.calculateJwkThumbprint(createPublicKey(pub).export({ format: 'jwk' }) as jose.JWK);
    expect(r.stderr).toContain(`kid ${thumb}`);
    expect(createPublicKey(pub).asymmetricKeyDetails?.modulusLength).toBe(2048);

    const again = run(['keygen', '--alg', 'RSA-OAEP-256', '-o', f]);
    fail(again, 5, /already exists/);
    expect(readFileSync(f, 'utf8')).toBe(priv);
    expect(readFileSync(`${f}.pub`, 'utf8')).toBe(pub);

    // and the pair works: encrypt to the public key, decrypt with the private one
    const c = run(['encrypt', '--format', 'jwe', '--recipient', `${f}.pub`], { input: 'pair' });
    expect(c.code).toBe(0);
    expect(jose.decodeProtectedHeader(c.out.trim())).toMatchObject({ alg: 'RSA-OAEP-256', enc: 'A256GCM', kid: thumb });
    const d = run(['decrypt', '--key-file', f], { input: c.out });
    expect(d.out).toBe('pair');
  });

  it('--format jwk writes JWKs with kid; a public key cannot decrypt (exit 3)', () => {
    const f = join(dir, 'id.jwk');
    const r = run(['keygen', '--alg', 'RSA-OAEP', '--bits', '2048', '--format', 'jwk', '-o', f]);
    expect(r.code, r.stderr).toBe(0);
    const priv = JSON.parse(readFileSync(f, 'utf8')) as Record<string, string>;
    const pub = JSON.parse(readFileSync(`${f}.pub`, 'utf8')) as Record<string, string>;
    expect(statSync(f).mode & 0o777).toBe(0o600);
    expect(priv).toMatchObject({ kty: 'RSA', alg: 'RSA-OAEP', kid: pub.kid });
    expect(typeof priv.d).toBe('string');
    expect(pub.d).toBeUndefined();
    const c = run(['encrypt', '--format', 'jwe-json', '--wrap', 'RSA-OAEP', '--recipient', `${f}.pub`], { input: 'x' });
    expect(run(['decrypt', '--key-file', f], { input: c.out }).out).toBe('x');
    fail(run(['decrypt', '--key-file', `${f}.pub`], { input: c.out }), 3, /public key, which cannot decrypt/);
  });

  it('needs -o FILE (exit 2)', () => {
    fail(run(['keygen', '--alg', 'RSA-OAEP-256']), 2, /needs -o FILE/);
  });
});

describe('JWE refusals (exit 4, one clear line)', () => {
  it('alg none', () => {
    fail(run(['decrypt'], { env, input: craft({ alg: 'none', enc: 'A256GCM' }, 'x') }), 4, /"none" is refused/);
  });
  it('unknown crit parameters, even in an authentic JWE', () => {
    const t = craft({ alg: 'dir', enc: 'A256GCM', crit: ['exp'], exp: 1 }, 'x');
    fail(run(['decrypt'], { env, input: t }), 4, /"crit" names parameters .*exp/);
    const v = run(['verify'], { env, input: t });
    expect(v.code).toBe(4);
    expect(v.stderr).toMatch(/^aes-payload: FAIL -: JWE "crit" names parameters/);
  });
  it('PBES2 p2c above 1,000,000 or below 1,000, before any key derivation', () => {
    for (const [p2c, re] of [[1_000_001, /above the cap of 1000000/], [999, /below the minimum of 1000/]] as const) {
      const t = craft({ alg: 'PBES2-HS256+A128KW', enc: 'A256GCM', p2s: b64u(randomBytes(16)), p2c }, 'x');
      const parts = t.split('.');
      parts[1] = b64u(randomBytes(40));
      fail(run(['decrypt', '--passphrase-env', 'P'], { env: { P: 'pw' }, input: parts.join('.') }), 4, re);
    }
  });
  it('a zip bomb: inflating beyond the 64 MiB cap', () => {
    const bomb = deflateRawSync(Buffer.alloc(65 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(200_000);
    fail(run(['decrypt'], { env, input: craft({ alg: 'dir', enc: 'A256GCM', zip: 'DEF' }, bomb) }), 4, /inflates beyond the cap of 67108864 bytes/);
    // a small compressed payload inflates
    const ok = run(['decrypt'], { env, input: craft({ alg: 'dir', enc: 'A256GCM', zip: 'DEF' }, deflateRawSync('{"small":true}')) });
    expect(ok.out).toBe('{"small":true}');
  });
  it('algorithms outside --allow-alg', () => {
    const t = run(['encrypt', '--format', 'jwe'], { env, input: 'x' }).out;
    fail(run(['decrypt', '--allow-alg', 'dir,A128GCM'], { env, input: t }), 4, 'JWE algorithm A256GCM is not in --allow-alg');
    fail(run(['decrypt', '--allow-alg', 'A256KW,A256GCM'], { env, input: t }), 4, 'JWE algorithm dir is not in --allow-alg');
    expect(run(['decrypt', '--allow-alg', 'dir,A256GCM'], { env, input: t }).out).toBe('x');
    fail(run(['decrypt', '--allow-alg', 'dir,HS256'], { env, input: t }), 2, /unknown algorithm "HS256"/);
  });
  it('unsupported enc and malformed headers', () => {
    fail(run(['decrypt'], { env, input: craft({ alg: 'dir', enc: 'A512GCM' }, 'x') }), 4, /unsupported JWE "enc"/);
    fail(run(['decrypt'], { env, input: craft({ enc: 'A256GCM' }, 'x') }), 4, /no "alg"/);
    const dup = `${b64u('{"alg":"dir","alg":"dir","enc":"A256GCM"}')}..AAAAAAAAAAAAAAAA.AA.AAAAAAAAAAAAAAAAAAAAAA`;
    fail(run(['decrypt'], { env, input: dup }), 4, /duplicate/);
  });
});

describe('JWE keys and authentication', () => {
  const rsaFile = join(dir, 'r.pem');
  const otherRsa = join(dir, 'other.pem');
  run(['keygen', '--alg', 'RSA-OAEP-256', '--bits', '2048', '-o', rsaFile]);
  run(['keygen', '--alg', 'RSA-OAEP-256', '--bits', '2048', '-o', otherRsa]);

  it('key mix-ups exit 3: a symmetric key for RSA-OAEP, an RSA key for dir and A256KW', () => {
    const rsaJwe = run(['encrypt', '--format', 'jwe', '--recipient', `${rsaFile}.pub`], { input: 'x' }).out;
    fail(run(['decrypt'], { env, input: rsaJwe }), 3, 'RSA-OAEP-256 needs an RSA key, but the key is a symmetric key');
    for (const wrap of ['dir', 'A256KW']) {
      const t = run(['encrypt', '--format', 'jwe', '--wrap', wrap], { env, input: 'x' }).out;
      fail(run(['decrypt', '--key-file', rsaFile], { input: t }), 3, `${wrap} needs a symmetric key, but the key is an RSA key`);
    }
    fail(run(['encrypt', '--format', 'jwe', '--wrap', 'RSA-OAEP'], { env, input: 'x' }), 3, /needs an RSA key/);
    fail(run(['encrypt', '--format', 'jwe', '--wrap', 'A128KW'], { env, input: 'x' }), 3, 'key is 32 bytes but A128KW needs 16 bytes');
  });

  it('wrong key, tampered content and a tampered RSA encrypted key all give the one message, exit 1', () => {
    const t = run(['encrypt', '--format', 'jwe', '--recipient', `${rsaFile}.pub`], { input: 'secret' }).out.trim();
    const parts = t.split('.');
    const ek = Buffer.from(parts[1]!, 'base64url');
    ek[10]! ^= 1;
    const badKey = [parts[0], b64u(ek), parts[2], parts[3], parts[4]].join('.');
    const ct = Buffer.from(parts[3]!, 'base64url');
    ct[0]! ^= 1;
    const badCt = [parts[0], parts[1], parts[2], b64u(ct), parts[4]].join('.');
    const esc = (x: string) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const kidOf = (jwe: string) => (JSON.parse(Buffer.from(jwe.split('.')[0]!, 'base64url').toString()) as { kid: string }).kid;
    // a wrong key names both kids; an RSA-OAEP unwrap failure and tampered content read exactly alike (RFC 7516 §11.5)
    fail(run(['decrypt', '--key-file', otherRsa], { input: t }), 1, new RegExp(`^aes-payload: ${esc(AUTH_FAILED_MESSAGE)} \\(the input names kid ${esc(kidOf(t))}; the key given is kid [A-Za-z0-9_-]{43}\\)$`));
    const l1 = fail(run(['decrypt', '--key-file', rsaFile], { input: badKey }), 1, `${AUTH_FAILED_MESSAGE} (kid ${kidOf(t)} matches, but the data was altered)`);
    const l2 = fail(run(['decrypt', '--key-file', rsaFile], { input: badCt }), 1, `${AUTH_FAILED_MESSAGE} (kid ${kidOf(t)} matches, but the data was altered)`);
    expect(l1).toBe(l2);
    for (const wrap of ['dir', 'A256KW', 'A256GCMKW']) {
      const s = run(['encrypt', '--format', 'jwe-json', '--wrap', wrap], { env, input: 'x' }).out;
      fail(run(['decrypt'], { env: { AES_PAYLOAD_KEY: randomBytes(32).toString('hex') }, input: s }), 1, new RegExp(`^aes-payload: ${esc(AUTH_FAILED_MESSAGE)} \\(the input names kid [0-9a-f]{16}; the key given is kid [0-9a-f]{16}\\)$`));
    }
  });

  it('general JSON with several recipients: the matching kid is used; AAD is honoured', async () => {
    const k1 = randomBytes(16);
    const k2 = randomBytes(32);
    const enc = new jose.GeneralEncrypt(new TextEncoder().encode('for two')).setProtectedHeader({ enc: 'A128GCM' }).setAdditionalAuthenticatedData(Buffer.from('routing-42'));
    enc.addRecipient(k1).setUnprotectedHeader({ alg: 'A128KW', kid: 'one' });
    enc.addRecipient(k2).setUnprotectedHeader({ alg: 'A256KW', kid: 'two' });
    const g = JSON.stringify(await enc.encrypt());
    for (const k of [k1, k2]) {
      const r = run(['decrypt'], { env: { AES_PAYLOAD_KEY: k.toString('hex') }, input: g });
      expect(r.code, r.stderr).toBe(0);
      expect(r.out).toBe('for two');
      expect(run(['verify'], { env: { AES_PAYLOAD_KEY: k.toString('hex') }, input: g }).code).toBe(0);
    }
    fail(run(['decrypt'], { env, input: g }), 1, `${AUTH_FAILED_MESSAGE} (the input names kid one, two; the key given is kid ${keyId(Buffer.from(env.AES_PAYLOAD_KEY, 'hex'))})`);
    const o = JSON.parse(g) as { aad: string };
    o.aad = b64u('routing-43');
    fail(run(['decrypt'], { env: { AES_PAYLOAD_KEY: k2.toString('hex') }, input: JSON.stringify(o) }), 1, `${AUTH_FAILED_MESSAGE} (the input names kid one, two; the key given is kid ${keyId(k2)})`);
  });

  it('verify works on compact, flattened and general JWE, with OK/FAIL and exit codes', () => {
    const compact = run(['encrypt', '--format', 'jwe'], { env, input: 'v' }).out;
    const flat = run(['encrypt', '--format', 'jwe-json', '--aad', 'ctx'], { env, input: 'v' }).out;
    const f = JSON.parse(flat) as Record<string, unknown>;
    const general = JSON.stringify({ protected: f.protected, aad: f.aad, recipients: [{}], iv: f.iv, ciphertext: f.ciphertext, tag: f.tag });
    const files = [['c.jwe', compact], ['f.json', flat], ['g.json', general]] as const;
    for (const [name, text] of files) writeFileSync(join(dir, name), text);
    const ok = run(['verify', '--json', ...files.map(([n]) => join(dir, n))], { env });
    expect(ok.code, ok.stderr).toBe(0);
    const rows = JSON.parse(ok.out) as { ok: boolean; format: string; alg: string; wrap: string }[];
    expect(rows.map((r) => [r.ok, r.format, r.alg, r.wrap])).toEqual([
      [true, 'jwe', 'A256GCM', 'dir'],
      [true, 'jwe-json', 'A256GCM', 'dir'],
      [true, 'jwe-json', 'A256GCM', 'dir'],
    ]);
    const tampered = compact.replace(/\.([A-Za-z0-9_-])/, (m, c: string) => `.${c === 'A' ? 'B' : 'A'}`);
    const bad = run(['verify', '-'], { env, input: tampered });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^aes-payload: FAIL -: authentication failed/m);
  });
});

describe('passphrases', () => {
  it('envelope: scrypt with the documented defaults; wrong passphrase exit 1; key/passphrase mix-ups exit 3', () => {
    const r = run(['encrypt', '--passphrase-env', 'PW'], { env: { PW: 'hunter2' }, input: 'pp' });
    expect(r.code, r.stderr).toBe(0);
    const e = JSON.parse(r.out) as { alg: string; kid?: string; kdf: { name: string; salt: string; N: number; r: number; p: number } };
    expect(e.alg).toBe('A256GCM');
    expect(e.kid).toBeUndefined();
    expect(e.kdf).toMatchObject({ name: 'scrypt', N: 32768, r: 8, p: 1 });
    expect(Buffer.from(e.kdf.salt, 'base64').length).toBe(16);
    expect(run(['decrypt', '--passphrase-env', 'PW'], { env: { PW: 'hunter2' }, input: r.out }).out).toBe('pp');
    fail(run(['decrypt', '--passphrase-env', 'PW'], { env: { PW: 'hunter3' }, input: r.out }), 1, AUTH_FAILED_MESSAGE);
    fail(run(['decrypt'], { env, input: r.out }), 3, /protected by a passphrase/);
    const keyed = run(['encrypt'], { env, input: 'k' }).out;
    fail(run(['decrypt', '--passphrase-env', 'PW'], { env: { PW: 'x' }, input: keyed }), 3, /made with a key, not a passphrase/);
    fail(run(['encrypt', '--passphrase-env', 'PW', '--key-env', 'K'], { env: { PW: 'x', K: KEY }, input: 'k' }), 2, /choose one key source/);
  });

  it('raw: a salt prefix and the default cost', () => {
    const r = run(['encrypt', '--format', 'raw', '--passphrase-env', 'PW'], { env: { PW: 'hunter2' }, input: 'raw pp' });
    expect(Buffer.from(r.out.trim(), 'base64').length).toBe(16 + 12 + 6 + 16);
    expect(run(['decrypt', '--format', 'raw', '--passphrase-env', 'PW'], { env: { PW: 'hunter2' }, input: r.out }).out).toBe('raw pp');
  });

  it('a trailing newline from env or a file is dropped, with a warning', () => {
    const f = join(dir, 'pass.txt');
    writeFileSync(f, 'hunter2\n', { mode: 0o600 });
    const r = run(['encrypt', '--passphrase-file', f], { input: 'nl' });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`aes-payload: warning: the passphrase in passphrase file ${f} ends in a newline; it is used without it`);
    const d = run(['decrypt', '--passphrase-env', 'PW'], { env: { PW: 'hunter2' }, input: r.out });
    expect(d.stderr).toBe('');
    expect(d.out).toBe('nl');
    const d2 = run(['decrypt', '--passphrase-env', 'PW'], { env: { PW: 'hunter2\r\n' }, input: r.out });
    expect(d2.out).toBe('nl');
    expect(d2.stderr).toMatch(/env PW ends in a newline/);
  });

  it('decrypt refuses scrypt costs above the caps (exit 4) without deriving', () => {
    const r = run(['encrypt', '--passphrase-env', 'PW'], { env: { PW: 'pw' }, input: 'c' });
    const e = JSON.parse(r.out) as { kdf: Record<string, number> };
    for (const [field, value, re] of [
      ['N', 2 ** 20, /N·r·p is about 2\^23, above 2\^22 \(about 2 s\)/],
      ['N', 3000, /N must be a power of 2/],
      ['r', 2 ** 10, /N·r·p is about 2\^25/],
      ['p', 2 ** 8, /N·r·p is about 2\^26/],
      ['r', 0, /r must be a positive integer/],
    ] as const) {
      const bad = { ...e, kdf: { ...e.kdf, [field]: value } };
      fail(run(['decrypt', '--passphrase-env', 'PW'], { env: { PW: 'pw' }, input: JSON.stringify(bad) }), 4, re);
    }
    // within the work cap but over the memory cap: N = 2^19 with r = 8 is 512 MiB
    const big = { ...e, kdf: { ...e.kdf, N: 2 ** 19, r: 8, p: 1 } };
    fail(run(['decrypt', '--passphrase-env', 'PW'], { env: { PW: 'pw' }, input: JSON.stringify(big) }), 4, /more than 256 MiB/);
  });

  it('--format jwe with a passphrase means PBES2 with the documented p2c', () => {
    const r = run(['encrypt', '--format', 'jwe', '--passphrase-env', 'PW'], { env: { PW: 'pw' }, input: 'pb' });
    expect(jose.decodeProtectedHeader(r.out.trim())).toMatchObject({ alg: 'PBES2-HS256+A128KW', enc: 'A256GCM', p2c: 600000 });
    expect(run(['decrypt', '--passphrase-env', 'PW'], { env: { PW: 'pw' }, input: r.out }).out).toBe('pb');
    fail(run(['decrypt'], { env, input: r.out }), 3, /needs a passphrase/);
  });

  it('a passphrase file that is missing or empty', () => {
    fail(run(['decrypt', '--passphrase-file', join(dir, 'nope')], { input: '{}' }), 5, /cannot read passphrase file/);
    const empty = join(dir, 'empty');
    writeFileSync(empty, '\n', { mode: 0o600 });
    fail(run(['encrypt', '--passphrase-file', empty], { input: 'x' }), 3, /is empty/);
    expect(existsSync(join(dir, 'nope'))).toBe(false);
  });
});
