// Attack class: one ciphertext, two keys. AES-GCM is not key-committing:
// whoever knows two keys can build one ciphertext and tag that authenticate
// under both ("invisible salamanders"), giving two different plaintexts.
// CBC-HMAC authenticates under any key with the same MAC half. When a
// keyring is tried (raw input names no kid), or a JWE has several
// recipients, every candidate must be tried, and an input that more than
// one opens must be refused, not read as whichever key came first.
import { createCipheriv, createDecipheriv, createHmac, generateKeyPairSync, publicEncrypt, constants, randomBytes } from 'node:crypto';
import { chmodSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cli, refused, workspace } from './attack.js';

// --- GF(2^128) as GCM uses it (NIST SP 800-38D §6.3), on BigInts of the big-endian block.
const R = 0xe1n << 120n;
const MASK = (1n << 128n) - 1n;
const big = (b: Buffer): bigint => BigInt(`0x${b.toString('hex') || '0'}`);
const buf = (x: bigint): Buffer => Buffer.from(x.toString(16).padStart(32, '0'), 'hex');
function mul(x: bigint, y: bigint): bigint {
  let z = 0n;
  let v = y;
  for (let i = 127n; i >= 0n; i--) {
    if ((x >> i) & 1n) z ^= v;
    v = v & 1n ? (v >> 1n) ^ R : v >> 1n;
  }
  return z & MASK;
}
function pow(x: bigint, e: bigint): bigint {
  let r = 1n << 127n; // the field's 1
  let b = x;
  for (; e > 0n; e >>= 1n) {
    if (e & 1n) r = mul(r, b);
    b = mul(b, b);
  }
  return r;
}
const inv = (x: bigint) => pow(x, (1n << 128n) - 2n);
const aesBlock = (key: Buffer, block: Buffer) => {
  const c = createCipheriv(`aes-${key.length * 8}-ecb`, key, null).setAutoPadding(false);
  return Buffer.concat([c.update(block), c.final()]);
};
const blocks = (b: Buffer): bigint[] => {
  const out: bigint[] = [];
  for (let i = 0; i < b.length; i += 16) out.push(big(Buffer.concat([b.subarray(i, i + 16), Buffer.alloc(16)]).subarray(0, 16)));
  return out;
};

/**
 * A GCM ciphertext (with `aad`) of `n` blocks whose tag verifies under both
 * keys with the same 12-byte nonce: every block random but one, which is
 * solved for. Returns the ciphertext and tag.
 */
function collide(k1: Buffer, k2: Buffer, nonce: Buffer, aad: Buffer, n = 3): { ct: Buffer; tag: Buffer } {
  const h = [k1, k2].map((k) => big(aesBlock(k, Buffer.alloc(16))));
  const j0 = Buffer.concat([nonce, Buffer.from([0, 0, 0, 1])]);
  const ek = [k1, k2].map((k) => big(aesBlock(k, j0)));
  const ct = randomBytes(16 * n);
  const free = aad.length ? blocks(aad).length : 0; // index of the first ciphertext block: the one solved for
  const lens = Buffer.alloc(16);
  lens.writeBigUInt64BE(BigInt(aad.length * 8), 0);
  lens.writeBigUInt64BE(BigInt(ct.length * 8), 8);
  const xs = [...(aad.length ? blocks(aad) : []), ...blocks(ct), big(lens)];
  const m = xs.length;
  // S(H) = sum of X_i * H^(m - i) over i = 0..m-1; solve X_free * (H1^e + H2^e) = E1 + E2 + (the rest).
  let rhs = ek[0]! ^ ek[1]!;
  xs.forEach((x, i) => {
    if (i !== free) rhs ^= mul(x, pow(h[0]!, BigInt(m - i)) ^ pow(h[1]!, BigInt(m - i)));
  });
  const e = BigInt(m - free);
  const solved = mul(rhs, inv(pow(h[0]!, e) ^ pow(h[1]!, e)));
  buf(solved).copy(ct, 0);
  xs[free] = solved;
  let s = 0n;
  for (const x of xs) s = mul(s ^ x, h[0]!);
  return { ct, tag: buf(s ^ ek[0]!) };
}

function gcmOpen(key: Buffer, nonce: Buffer, ct: Buffer, tag: Buffer, aad?: Buffer): Buffer {
  const d = createDecipheriv(`aes-${key.length * 8}-gcm`, key, nonce);
  if (aad) d.setAAD(aad);
  d.setAuthTag(tag);
  return Buffer.concat([d.update(ct), d.final()]);
}

const ws = workspace();
const secret = (p: string) => (chmodSync(p, 0o600), p);
const ring = (keys: Buffer[], primary: number) =>
  secret(ws.file(`ring${primary}-${keys[0]!.toString('hex').slice(0, 6)}.json`, JSON.stringify({ primary: `k${primary}`, keys: Object.fromEntries(keys.map((k, i) => [`k${i}`, k.toString('hex')])) })));

describe('an input that opens under two keys is refused, never read as either', () => {
  it('raw AES-GCM built to authenticate under two keys of a keyring: decrypt and verify refuse it, whichever key is primary', () => {
    const k1 = randomBytes(32);
    const k2 = randomBytes(32);
    const nonce = randomBytes(12);
    const { ct, tag } = collide(k1, k2, nonce, Buffer.alloc(0));
    // The premise: both keys open it, to different plaintexts.
    expect(gcmOpen(k1, nonce, ct, tag).equals(gcmOpen(k2, nonce, ct, tag))).toBe(false);
    const raw = `${Buffer.concat([nonce, ct, tag]).toString('base64')}\n`;
    for (const primary of [0, 1]) {
      const line = refused(cli(['decrypt', '--format', 'raw', '--keyring', ring([k1, k2], primary), '-'], raw), 1);
      expect(line).toMatch(/more than one key/);
      expect(cli(['verify', '--format', 'raw', '--keyring', ring([k1, k2], primary), '-'], raw).code).toBe(1);
    }
    // With one of the keys alone it is an ordinary ciphertext.
    expect(cli(['decrypt', '--format', 'raw', '-'], raw, { AES_PAYLOAD_KEY: k1.toString('hex') }).stdout.equals(gcmOpen(k1, nonce, ct, tag))).toBe(true);
  });

  it('raw CBC-HMAC under two keys that share their MAC half: refused', () => {
    const mac = randomBytes(32);
    const k1 = Buffer.concat([mac, randomBytes(32)]);
    const k2 = Buffer.concat([mac, randomBytes(32)]);
    // Encrypt under k1 (RFC 7518 §5.2.2, computed here) until the ciphertext also has valid padding under k2's half (about 1 in 256).
    let raw = '';
    for (let i = 0; i < 100_000 && !raw; i++) {
      const iv = randomBytes(16);
      const c = createCipheriv('aes-256-cbc', k1.subarray(32), iv);
      const ct = Buffer.concat([c.update(randomBytes(20)), c.final()]);
      try {
        const d = createDecipheriv('aes-256-cbc', k2.subarray(32), iv);
        Buffer.concat([d.update(ct), d.final()]);
      } catch {
        continue; // bad padding under k2: try again
      }
      const t = createHmac('sha512', mac).update(Buffer.concat([iv, ct, Buffer.alloc(8)])).digest().subarray(0, 32);
      raw = `${Buffer.concat([iv, ct, t]).toString('base64')}\n`;
    }
    expect(raw).not.toBe('');
    // Each key alone opens it.
    for (const k of [k1, k2]) expect(cli(['decrypt', '--format', 'raw', '--alg', 'A256CBC-HS512', '-'], raw, { AES_PAYLOAD_KEY: k.toString('hex') }).code).toBe(0);
    for (const primary of [0, 1]) {
      refused(cli(['decrypt', '--format', 'raw', '--alg', 'A256CBC-HS512', '--keyring', ring([k1, k2], primary), '-'], raw), 1);
    }
  });

  it('a JWE with two recipients whose content keys both open the content: refused', () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = secret(ws.file('rsa.pem', privateKey.export({ type: 'pkcs8', format: 'pem' })));
    const cek1 = randomBytes(32);
    const cek2 = randomBytes(32);
    const protectedB64 = Buffer.from(JSON.stringify({ enc: 'A256GCM' })).toString('base64url');
    const iv = randomBytes(12);
    const { ct, tag } = collide(cek1, cek2, iv, Buffer.from(protectedB64, 'ascii'));
    const wrap = (cek: Buffer) => publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, cek).toString('base64url');
    const jwe = JSON.stringify({
      protected: protectedB64,
      recipients: [
        { header: { alg: 'RSA-OAEP-256' }, encrypted_key: wrap(cek1) },
        { header: { alg: 'RSA-OAEP-256' }, encrypted_key: wrap(cek2) },
      ],
      iv: iv.toString('base64url'),
      ciphertext: ct.toString('base64url'),
      tag: tag.toString('base64url'),
    });
    refused(cli(['decrypt', '--key-file', pem, '-'], jwe, {}), 1);
    expect(cli(['verify', '--key-file', pem, '-'], jwe, {}).code).toBe(1);
  });

  it('a JWE "dir" that names no kid is tried under every key of a keyring: opened under the one that fits, refused when two open it', () => {
    const k1 = randomBytes(32);
    const k2 = randomBytes(32);
    const prot = Buffer.from(JSON.stringify({ alg: 'dir', enc: 'A256GCM' })).toString('base64url');
    const iv = randomBytes(12);
    const { ct, tag } = collide(k1, k2, iv, Buffer.from(prot, 'ascii'));
    const jwe = `${prot}..${iv.toString('base64url')}.${ct.toString('base64url')}.${tag.toString('base64url')}\n`;
    for (const primary of [0, 1]) {
      for (const cmd of ['decrypt', 'verify']) expect(refused(cli([cmd, '--keyring', ring([k1, k2], primary), '-'], jwe), 1)).toMatch(/more than one key/);
      const file = ws.file(`dir-${primary}.jwe`, jwe);
      refused(cli(['rotate', '--keyring', ring([k1, k2], primary), '--to-key-env', 'NEW', file], '', { NEW: randomBytes(32).toString('hex') }), 1);
    }
    // An ordinary JWE dir under the keyring's second key, without a kid: found, not refused because the primary fails.
    const c = createCipheriv('aes-256-gcm', k2, iv).setAAD(Buffer.from(prot, 'ascii'));
    const ct2 = Buffer.concat([c.update('second key'), c.final()]);
    const ok = `${prot}..${iv.toString('base64url')}.${ct2.toString('base64url')}.${c.getAuthTag().toString('base64url')}\n`;
    const r = cli(['decrypt', '--keyring', ring([k1, k2], 0), '-'], ok);
    expect(r.stderr).toBe('');
    expect(r.out).toBe('second key');
  });

  it('a legacy (version-1) envelope that names no kid: every key of a keyring is tried, two that open it are refused, and rotate does not upgrade it', () => {
    const k1 = randomBytes(32);
    const k2 = randomBytes(32);
    const nonce = randomBytes(12);
    const { ct, tag } = collide(k1, k2, nonce, Buffer.alloc(0));
    const v1 = `${JSON.stringify({ v: 1, alg: 'A256GCM', nonce: nonce.toString('base64'), data: ct.toString('base64'), mac: tag.toString('base64') })}\n`;
    for (const primary of [0, 1]) {
      for (const cmd of ['decrypt', 'verify']) expect(refused(cli([cmd, '--allow-legacy', '--keyring', ring([k1, k2], primary), '-'], v1), 1)).toMatch(/more than one key/);
      const file = ws.file(`v1-${primary}.json`, v1);
      refused(cli(['rotate', '--allow-legacy', '--keyring', ring([k1, k2], primary), '--to-key-env', 'NEW', file], '', { NEW: randomBytes(32).toString('hex') }), 1);
      expect(readFileSync(file, 'utf8')).toBe(v1); // not upgraded to version 2
    }
    // One that only the second key opens is found.
    const c = createCipheriv('aes-256-gcm', k2, nonce);
    const d = Buffer.concat([c.update('legacy'), c.final()]);
    const one = JSON.stringify({ v: 1, alg: 'A256GCM', nonce: nonce.toString('base64'), data: d.toString('base64'), mac: c.getAuthTag().toString('base64') });
    expect(cli(['decrypt', '--allow-legacy', '--keyring', ring([k1, k2], 0), '-'], one).out).toBe('legacy');
  });
});
