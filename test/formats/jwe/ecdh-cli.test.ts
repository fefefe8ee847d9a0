// ECDH-ES through the built CLI: keygen pairs (files, modes, O_EXCL, stderr),
// encryption to EC/X25519 recipients, decryption with PEM and JWK keys,
// the RFC 7520 §5.5 cookbook key as PEM, and refusals with their exit codes.
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as jose from 'jose';
import { describe, expect, it } from 'vitest';
import { AUTH_FAILED_MESSAGE } from '../../../src/errors.js';
import { oneLineError, run, tempDir, vector } from '../../helpers.js';

const dir = tempDir();

function fail(r: ReturnType<typeof run>, code: number, msg: RegExp): string {
  expect(r.code, r.stderr).toBe(code);
  expect(r.out).toBe('');
  const line = oneLineError(r.stderr);
  expect(line).toMatch(msg);
  return line;
}

function swapHeader(token: string, edit: (h: Record<string, any>) => Record<string, unknown>): string {
  const parts = token.trim().split('.');
  parts[0] = Buffer.from(JSON.stringify(edit(JSON.parse(Buffer.from(parts[0]!, 'base64url').toString())))).toString('base64url');
  return parts.join('.');
}

describe('keygen --alg ECDH-ES', () => {
  for (const crv of ['P-256', 'P-384', 'P-521', 'X25519'] as const) {
    it(`--crv ${crv}: PEM pair (0600 private, .pub public), kid on stderr, never overwrites, and it works`, async () => {
      const f = join(dir, `ec-${crv}.pem`);
      const r = run(['keygen', '--alg', 'ECDH-ES', '--crv', crv, '-o', f]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.out).toBe('');
      expect(statSync(f).mode & 0o777).toBe(0o600);
      const priv = readFileSync(f, 'utf8');
      const pub = readFileSync(`${f}.pub`, 'utf8');
      expect(priv).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
      expect(pub).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
      const pubKey = createPublicKey(pub);
      expect(pubKey.asymmetricKeyType).toBe(crv === 'X25519' ? 'x25519' : 'ec');
      const thumb = await jose.calculateJwkThumbprint(pubKey.export({ format: 'jwk' }) as jose.JWK);
      expect(r.stderr).toContain(`private key to ${f} (mode 0600) and public key to ${f}.pub, kid ${thumb}`);
      fail(run(['keygen', '--alg', 'ECDH-ES', '--crv', crv, '-o', f]), 5, /already exists; use --force/);
      expect(readFileSync(f, 'utf8')).toBe(priv);
      expect(readFileSync(`${f}.pub`, 'utf8')).toBe(pub);
      const c = run(['encrypt', '--format', 'jwe', '--wrap', 'ECDH-ES', '--recipient', `${f}.pub`], { input: crv });
      expect(c.code, c.stderr).toBe(0);
      expect(jose.decodeProtectedHeader(c.out.trim())).toMatchObject({ alg: 'ECDH-ES', enc: 'A256GCM', kid: thumb, epk: { crv } });
      expect(run(['decrypt', '--key-file', f], { input: c.out }).out).toBe(crv);
      // npm jose reads the private key file as written
      const d = await jose.compactDecrypt(c.out.trim(), createPrivateKey(priv));
      expect(Buffer.from(d.plaintext).toString()).toBe(crv);
    });
  }

  it('--format jwk writes JWKs with kid, alg and use; default crv P-256; the public key cannot decrypt', () => {
    const f = join(dir, 'ec.jwk');
    const r = run(['keygen', '--alg', 'ECDH-ES+A128KW', '--format', 'jwk', '-o', f]);
    expect(r.code, r.stderr).toBe(0);
    const priv = JSON.parse(readFileSync(f, 'utf8')) as Record<string, string>;
    const pub = JSON.parse(readFileSync(`${f}.pub`, 'utf8')) as Record<string, string>;
    expect(statSync(f).mode & 0o777).toBe(0o600);
    expect(priv).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ECDH-ES+A128KW', use: 'enc', kid: pub.kid });
    expect(typeof priv.d).toBe('string');
    expect(Object.keys(pub).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
    const c = run(['encrypt', '--format', 'jwe-json', '--wrap', 'ECDH-ES+A128KW', '--recipient', `${f}.pub`], { input: 'x' });
    expect(c.code, c.stderr).toBe(0);
    expect(run(['decrypt', '--key-file', f], { input: c.out }).out).toBe('x');
    fail(run(['decrypt', '--key-file', `${f}.pub`], { input: c.out }), 3, /public key, which cannot decrypt/);
  });

  it('usage errors: no -o, --bits, --crv without ECDH-ES, unknown crv (exit 2)', () => {
    fail(run(['keygen', '--alg', 'ECDH-ES']), 2, /needs -o FILE/);
    fail(run(['keygen', '--alg', 'ECDH-ES', '--bits', '2048', '-o', join(dir, 'b')]), 2, /--bits applies to RSA/);
    fail(run(['keygen', '--crv', 'P-256']), 2, /--crv applies to ECDH-ES/);
    fail(run(['keygen', '--alg', 'RSA-OAEP-256', '--crv', 'P-256', '-o', join(dir, 'r')]), 2, /--crv applies to ECDH-ES/);
    const r = run(['keygen', '--alg', 'ECDH-ES', '--crv', 'P-192', '-o', join(dir, 'c')]);
    expect(r.code).toBe(2);
  });
});

describe('decrypting with EC keys in every file form', () => {
  it('RFC 7520 §5.5 (ECDH-ES, A128CBC-HS256, P-256) with the cookbook key as PKCS#8 PEM and as SEC 1 PEM', () => {
    const c = vector<{ input: { key: Record<string, string>; plaintext: string }; output: { compact: string } }>('jose/5_5.key_agreement_using_ecdh-es_with_aes-cbc-hmac-sha2.json');
    const k = createPrivateKey({ key: c.input.key as any, format: 'jwk' });
    for (const [name, text] of [
      ['pkcs8.pem', k.export({ format: 'pem', type: 'pkcs8' })],
      ['sec1.pem', k.export({ format: 'pem', type: 'sec1' })],
    ] as const) {
      const f = join(dir, `5_5-${name}`);
      writeFileSync(f, text, { mode: 0o600 });
      const r = run(['decrypt', '--key-file', f], { input: c.output.compact });
      expect(r.stderr).toBe('');
      expect(r.out).toBe(c.input.plaintext);
    }
  });

  it('RFC 7520 §5.4 (ECDH-ES+A128KW, P-384): --allow-alg admits it, and refuses it when not listed', () => {
    const c = vector<{ input: { key: Record<string, string>; plaintext: string }; output: { compact: string } }>('jose/5_4.key_agreement_with_key_wrapping_using_ecdh-es_and_aes-keywrap_with_aes-gcm.json');
    const f = join(dir, '5_4.jwk');
    writeFileSync(f, JSON.stringify(c.input.key), { mode: 0o600 });
    expect(run(['decrypt', '--key-file', f, '--allow-alg', 'ECDH-ES+A128KW,A128GCM'], { input: c.output.compact }).out).toBe(c.input.plaintext);
    fail(run(['decrypt', '--key-file', f, '--allow-alg', 'ECDH-ES,A128GCM'], { input: c.output.compact }), 4, /ECDH-ES\+A128KW is not in --allow-alg/);
  });
});

describe('ECDH-ES refusals through the CLI', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const privFile = join(dir, 'p256.pem');
  const pubFile = join(dir, 'p256.pem.pub');
  writeFileSync(privFile, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
  writeFileSync(pubFile, publicKey.export({ format: 'pem', type: 'spki' }));
  const good = run(['encrypt', '--format', 'jwe', '--recipient', pubFile], { input: 'secret' }).out.trim();

  it('a point off the curve: exit 4, one line, no plaintext', () => {
    const bad = swapHeader(good, (h) => {
      const y = Buffer.from(h.epk.y, 'base64url');
      y[0] ^= 0x80;
      return { ...h, epk: { ...h.epk, y: y.toString('base64url') } };
    });
    fail(run(['decrypt', '--key-file', privFile], { input: bad }), 4, /^aes-payload: JWE "epk" is not a point on P-256$/);
  });
  it('an epk on another curve: exit 3', () => {
    const x = generateKeyPairSync('x25519').publicKey.export({ format: 'jwk' });
    fail(run(['decrypt', '--key-file', privFile], { input: swapHeader(good, (h) => ({ ...h, epk: x })) }), 3, /JWE "epk" is on X25519, but the key is on P-256/);
  });
  it('a private part in the epk: exit 4', () => {
    const e = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
    fail(run(['decrypt', '--key-file', privFile], { input: swapHeader(good, (h) => ({ ...h, epk: e })) }), 4, /holds a private key \("d"\)/);
  });
  it('another valid epk, or the wrong private key: the uniform authentication failure (exit 1)', () => {
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
    const r = run(['decrypt', '--key-file', privFile], { input: swapHeader(good, (h) => ({ ...h, epk: other })) });
    expect(r.code).toBe(1);
    expect(oneLineError(r.stderr)).toContain(AUTH_FAILED_MESSAGE);
    const f = join(dir, 'other.pem');
    writeFileSync(f, generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
    const w = run(['decrypt', '--key-file', f], { input: good });
    expect(w.code).toBe(1);
    expect(oneLineError(w.stderr)).toContain(AUTH_FAILED_MESSAGE);
    expect(w.out).toBe('');
  });
  it('--apu/--apv: base64url only, JWE only, ECDH-ES only (exit 2)', () => {
    fail(run(['encrypt', '--format', 'jwe', '--recipient', pubFile, '--apu', 'Alice!'], { input: 'x' }), 2, /--apu takes base64url/);
    fail(run(['encrypt', '--format', 'jwe', '--recipient', pubFile, '--apv', 'Qm9'], { input: 'x' }), 2, /--apv is not canonical base64url/);
    fail(run(['encrypt', '--apu', 'QWxpY2U'], { input: 'x', env: { AES_PAYLOAD_KEY: '00'.repeat(32) } }), 2, /need --format jwe/);
    fail(run(['encrypt', '--format', 'jwe', '--apu', 'QWxpY2U'], { input: 'x', env: { AES_PAYLOAD_KEY: '00'.repeat(32) } }), 2, /--apu and --apv go with ECDH-ES, not dir/);
  });
  it('an RSA-only wrap with an EC recipient, and keys ECDH-ES does not take (secp256k1, Ed25519): clear errors', () => {
    fail(run(['encrypt', '--format', 'jwe', '--wrap', 'RSA-OAEP-256', '--recipient', pubFile], { input: 'x' }), 3, /RSA-OAEP-256 needs an RSA key, but the key is an EC key/);
    for (const [name, k] of [['k1', generateKeyPairSync('ec', { namedCurve: 'secp256k1' })], ['ed', generateKeyPairSync('ed25519')]] as const) {
      const f = join(dir, `${name}.pub`);
      writeFileSync(f, k.publicKey.export({ format: 'pem', type: 'spki' }));
      fail(run(['encrypt', '--format', 'jwe', '--recipient', f], { input: 'x' }), 3, /ECDH-ES takes P-256, P-384, P-521 or X25519|only RSA, EC/);
    }
  });
});

describe('review 22.7: hints and refusals', () => {
  it('keygen --alg ECDH-ES hints the README default (no --wrap ECDH-ES); a private JWK given to encrypt --recipient is refused without showing it', () => {
    const priv = join(dir, 'r227.jwk');
    const k = run(['keygen', '--alg', 'ECDH-ES', '--format', 'jwk', '-o', priv]);
    expect(k.code, k.stderr).toBe(0);
    expect(k.stderr).toMatch(/encrypt with: aes-payload encrypt --format jwe --recipient /);
    expect(k.stderr).not.toMatch(/--wrap ECDH-ES\b/);
    const a128 = run(['keygen', '--alg', 'ECDH-ES+A128KW', '-o', join(dir, 'r227b.pem')]);
    expect(a128.stderr).toMatch(/--wrap ECDH-ES\+A128KW --recipient/);
    const d = JSON.parse(readFileSync(priv, 'utf8')).d as string;
    const r = run(['encrypt', '--format', 'jwe', '--recipient', priv], { input: '{"a":1}' });
    const line = fail(r, 3, /is a private key \(a JWK with "d"\); give the public key/);
    expect(line).not.toContain(d.slice(0, 8));
    const ok = run(['encrypt', '--format', 'jwe', '--recipient', `${priv}.pub`], { input: '{"a":1}' });
    expect(ok.code, ok.stderr).toBe(0);
  });

  it('an empty passphrase variable says "is empty"; keygen --age names --pq; keygen --format help names X25519; decrypt/verify descriptions name age', () => {
    const e = run(['encrypt', '--passphrase-env', 'PPE'], { input: 'x', env: { PPE: '' } });
    expect(oneLineError(e.stderr)).toMatch(/environment variable PPE is empty/);
    const u = run(['encrypt', '--passphrase-env', 'PPE_UNSET_227'], { input: 'x' });
    expect(oneLineError(u.stderr)).toMatch(/environment variable PPE_UNSET_227 is not set/);
    const g = run(['keygen', '--age', '--bits', '2048', '-o', join(dir, 'x227.txt')]);
    expect(g.code).toBe(2);
    expect(oneLineError(g.stderr)).toMatch(/-o FILE, --force and --pq only/);
    expect(run(['keygen', '--help']).out.replace(/\s+/g, ' ')).toMatch(/a JWK \(symmetric, RSA, EC or X25519\)/);
    expect(run(['--help']).out).toMatch(/decrypt .*age file/);
    expect(run(['--help']).out.replace(/\s+/g, ' ')).toMatch(/verify .*age files/);
  });
});
