// ECDH-ES for JWE (RFC 7518 §4.6): Wycheproof ECDH and X25519 vectors through
// our agreement function, RFC 7518 appendix C, and the hostile-epk refusals.
import { createECDH, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { agree, checkPublic, concatKdf, publicFromJwk, publicFromSpki, type EcdhCurve } from '../../../src/crypto/ecdh.js';
import { AesPayloadError, AuthError, FormatError, KeyError } from '../../../src/errors.js';
import { jweDecrypt, jweEncrypt, type JweWrap } from '../../../src/formats/jwe/jwe.js';
import { hex, vector } from '../../helpers.js';

interface EcdhCase {
  tcId: number;
  comment: string;
  flags: string[];
  public: string;
  private: string;
  shared: string;
  result: 'valid' | 'invalid' | 'acceptable';
}

const NODE_CURVE = { 'P-256': 'prime256v1', 'P-384': 'secp384r1', 'P-521': 'secp521r1' } as const;
const SIZE = { 'P-256': 32, 'P-384': 48, 'P-521': 66 } as const;

/** A P-curve private key from a Wycheproof big-endian scalar (which may carry a leading 00). */
function ecPrivate(crv: keyof typeof NODE_CURVE, d: string): KeyObject {
  let b = hex(d);
  while (b.length > SIZE[crv] && b[0] === 0) b = b.subarray(1);
  b = Buffer.concat([Buffer.alloc(SIZE[crv] - b.length), b]);
  const e = createECDH(NODE_CURVE[crv]);
  e.setPrivateKey(b);
  const pub = e.getPublicKey();
  const n = SIZE[crv];
  return createPrivateKey({
    key: { kty: 'EC', crv, d: b.toString('base64url'), x: pub.subarray(1, 1 + n).toString('base64url'), y: pub.subarray(1 + n).toString('base64url') },
    format: 'jwk',
  });
}

function x25519Private(d: string): KeyObject {
  return createPrivateKey({ key: Buffer.concat([hex('302e020100300506032b656e04220420'), hex(d)]), format: 'der', type: 'pkcs8' });
}

/** Refused: one of our expected errors, never an unexpected exception. */
function refused(f: () => unknown): boolean {
  try {
    f();
    return false;
  } catch (e) {
    expect(e).toBeInstanceOf(AesPayloadError);
    return true;
  }
}

describe('Wycheproof ECDH (SPKI public keys) through agree()', () => {
  // acceptable: the one compressed point per file is accepted (and must give the right secret); explicit
  // curve parameters (UnnamedCurve) and BER quirks (InvalidAsn) are refused, as only canonical DER is read.
  const files = [
    ['ecdh_secp256r1_test.json', 'P-256', { valid: 330, invalid: 52, acceptableAccepted: 1, acceptableRefused: 229 }],
    ['ecdh_secp384r1_test.json', 'P-384', { valid: 771, invalid: 46, acceptableAccepted: 1, acceptableRefused: 229 }],
    ['ecdh_secp521r1_test.json', 'P-521', { valid: 632, invalid: 56, acceptableAccepted: 1, acceptableRefused: 227 }],
  ] as const;
  for (const [file, crv, expected] of files) {
    it(`${file}: every valid vector agrees, every invalid one is refused`, () => {
      const d = vector<{ numberOfTests: number; testGroups: { curve: string; encoding: string; tests: EcdhCase[] }[] }>(file);
      const counts = { valid: 0, invalid: 0, acceptableAccepted: 0, acceptableRefused: 0 };
      const acceptedFlags = new Set<string>();
      let total = 0;
      for (const g of d.testGroups) {
        expect(g.encoding).toBe('asn');
        for (const t of g.tests) {
          total++;
          const priv = ecPrivate(crv, t.private);
          let z: Buffer | undefined;
          const isRefused = refused(() => {
            z = agree(priv, publicFromSpki(hex(t.public), crv, 'public key'));
          });
          if (t.result === 'valid') {
            expect(isRefused, `tcId ${t.tcId} ${t.comment}`).toBe(false);
            expect(z!.toString('hex'), `tcId ${t.tcId}`).toBe(t.shared);
            counts.valid++;
          } else if (t.result === 'invalid') {
            expect(isRefused, `tcId ${t.tcId} ${t.comment} [${t.flags.join(',')}]`).toBe(true);
            counts.invalid++;
          } else if (isRefused) {
            counts.acceptableRefused++;
          } else {
            // Accepted: it must then give Wycheproof's shared secret, never another one.
            expect(z!.toString('hex'), `tcId ${t.tcId}`).toBe(t.shared);
            for (const f of t.flags) acceptedFlags.add(f);
            counts.acceptableAccepted++;
          }
        }
      }
      expect(total).toBe(d.numberOfTests);
      expect([...acceptedFlags].sort()).toEqual(['CompressedPoint', 'CompressedPublic']);
      expect(counts).toEqual(expected);
    });
  }
});

describe('Wycheproof X25519 through agree()', () => {
  it('x25519_test.json: valid vectors agree, low-order points (zero shared secret) are refused', () => {
    const d = vector<{ numberOfTests: number; testGroups: { curve: string; tests: EcdhCase[] }[] }>('x25519_test.json');
    const counts = { valid: 0, zeroRefused: 0, acceptableAccepted: 0 };
    for (const g of d.testGroups) {
      expect(g.curve).toBe('curve25519');
      for (const t of g.tests) {
        const priv = x25519Private(t.private);
        const zero = /^(00)+$/.test(t.shared);
        const compute = () => agree(priv, publicFromJwk({ kty: 'OKP', crv: 'X25519', x: hex(t.public).toString('base64url') }, 'X25519', 'epk'));
        if (zero) {
          // RFC 7748 §6.1 / RFC 8037 §3.2: an all-zero result means a low-order point; refused.
          expect(t.result, `tcId ${t.tcId}`).toBe('acceptable');
          expect(compute, `tcId ${t.tcId}`).toThrow(FormatError);
          counts.zeroRefused++;
          continue;
        }
        expect(t.result, `tcId ${t.tcId}`).not.toBe('invalid');
        // Valid, and acceptable ones with a non-zero result (twist points, non-canonical u): RFC 7748 computes them.
        expect(compute().toString('hex'), `tcId ${t.tcId} ${t.comment}`).toBe(t.shared);
        if (t.result === 'valid') counts.valid++;
        else counts.acceptableAccepted++;
      }
    }
    expect(counts.valid + counts.zeroRefused + counts.acceptableAccepted).toBe(d.numberOfTests);
    expect(counts).toEqual({ valid: 264, zeroRefused: 31, acceptableAccepted: 223 });
  });
});

interface AppendixC {
  enc: string;
  apu: string;
  apv: string;
  alice_ephemeral: Record<string, string>;
  bob: Record<string, string>;
  derived_key_b64u: string;
  derived_key: number[];
}

describe('RFC 7518 appendix C (ECDH-ES, P-256, apu "Alice", apv "Bob")', () => {
  const c = vector<AppendixC>('rfc7518_appendix_c.json');
  const alice = createPrivateKey({ key: c.alice_ephemeral, format: 'jwk' });
  const bob = createPrivateKey({ key: c.bob, format: 'jwk' });
  const { d: _ad, ...alicePub } = c.alice_ephemeral;
  const { d: _bd, ...bobPub } = c.bob;
  it('Concat KDF over Z gives the appendix key, from both sides', () => {
    const apu = Buffer.from(c.apu, 'base64url');
    const apv = Buffer.from(c.apv, 'base64url');
    expect(apu.toString()).toBe('Alice');
    expect(apv.toString()).toBe('Bob');
    const zA = agree(alice, publicFromJwk(bobPub, 'P-256', 'bob'));
    const zB = agree(bob, publicFromJwk(alicePub, 'P-256', 'epk'));
    expect(zA.equals(zB)).toBe(true);
    const k = concatKdf(zB, 128, c.enc, apu, apv);
    expect(k.toString('base64url')).toBe(c.derived_key_b64u);
    expect([...k]).toEqual(c.derived_key);
  });
  it("a JWE built on the appendix header decrypts with Bob's key (apu/apv read from the header)", () => {
    // The appendix gives no ciphertext: seal one under the appendix's derived key with its header, then let jweDecrypt derive it.
    const header = { alg: 'ECDH-ES', enc: c.enc, apu: c.apu, apv: c.apv, epk: alicePub };
    const jwe = sealWithCek(header, Buffer.from(c.derived_key_b64u, 'base64url'), 'Appendix C');
    expect(jweDecrypt(jwe, { rsa: bob }).plaintext.toString()).toBe('Appendix C');
    // apu/apv are inputs to the KDF: change one and the key changes (uniform authentication failure).
    const other = sealWithCek({ ...header, apv: 'Qm9j' }, Buffer.from(c.derived_key_b64u, 'base64url'), 'x');
    expect(() => jweDecrypt(other, { rsa: bob })).toThrow(AuthError);
  });
});

import { createCipheriv, randomBytes } from 'node:crypto';
function sealWithCek(header: Record<string, unknown>, cek: Buffer, text: string): string {
  const p = Buffer.from(JSON.stringify(header)).toString('base64url');
  const iv = randomBytes(12);
  const c = createCipheriv(`aes-${cek.length * 8}-gcm`, cek, iv);
  c.setAAD(Buffer.from(p, 'ascii'));
  const ct = Buffer.concat([c.update(text), c.final()]);
  return [p, '', iv.toString('base64url'), ct.toString('base64url'), c.getAuthTag().toString('base64url')].join('.');
}

const CURVES: EcdhCurve[] = ['P-256', 'P-384', 'P-521', 'X25519'];
const WRAPS: JweWrap[] = ['ECDH-ES', 'ECDH-ES+A128KW', 'ECDH-ES+A192KW', 'ECDH-ES+A256KW'];
function pair(crv: EcdhCurve): { privateKey: KeyObject; publicKey: KeyObject } {
  return crv === 'X25519' ? generateKeyPairSync('x25519') : generateKeyPairSync('ec', { namedCurve: crv });
}
function header(jwe: string): Record<string, any> {
  return JSON.parse(Buffer.from(jwe.split('.')[0]!, 'base64url').toString());
}
function withHeader(jwe: string, h: Record<string, unknown>): string {
  const parts = jwe.split('.');
  parts[0] = Buffer.from(JSON.stringify(h)).toString('base64url');
  return parts.join('.');
}

describe('ECDH-ES round trips (library)', () => {
  for (const crv of CURVES) {
    for (const wrap of WRAPS) {
      it(`${wrap} on ${crv}`, () => {
        const { privateKey, publicKey } = pair(crv);
        const r = jweEncrypt(Buffer.from('hi'), { rsa: publicKey }, { wrap, apu: Buffer.from('Alice'), apv: Buffer.from('Bob') });
        const h = header(r.text);
        expect(h.alg).toBe(wrap);
        expect(h.epk.crv).toBe(crv);
        expect(h.epk.d).toBeUndefined();
        expect(h.apu).toBe('QWxpY2U');
        expect(h.apv).toBe('Qm9i');
        expect(r.text.split('.')[1]!.length > 0).toBe(wrap !== 'ECDH-ES');
        expect(jweDecrypt(r.text, { rsa: privateKey }).plaintext.toString()).toBe('hi');
        // Another key on the same curve: the uniform authentication failure.
        expect(() => jweDecrypt(r.text, { rsa: pair(crv).privateKey })).toThrow(AuthError);
      });
    }
  }
  it('a fresh ephemeral key per message: two encryptions never share an epk', () => {
    const { publicKey } = pair('X25519');
    const epks = new Set(Array.from({ length: 8 }, () => header(jweEncrypt(Buffer.from('x'), { rsa: publicKey }, { wrap: 'ECDH-ES' }).text).epk.x));
    expect(epks.size).toBe(8);
  });
  it('apu/apv longer than 1024 bytes are refused both ways', () => {
    const { privateKey, publicKey } = pair('P-256');
    expect(() => jweEncrypt(Buffer.from('x'), { rsa: publicKey }, { apu: Buffer.alloc(1025) })).toThrow(/longer than 1024/);
    const t = jweEncrypt(Buffer.from('x'), { rsa: publicKey }).text;
    expect(() => jweDecrypt(withHeader(t, { ...header(t), apv: Buffer.alloc(1025).toString('base64url') }), { rsa: privateKey })).toThrow(/longer than 1024/);
  });
  it('the default with an EC recipient is ECDH-ES+A256KW and A256GCM', () => {
    const { publicKey } = pair('P-256');
    const h = header(jweEncrypt(Buffer.from('x'), { rsa: publicKey }).text);
    expect([h.alg, h.enc]).toEqual(['ECDH-ES+A256KW', 'A256GCM']);
  });
  it('several recipients (RSA, P-384, X25519) in one general JWE, each decrypts', () => {
    const a = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const b = pair('P-384');
    const c = pair('X25519');
    const r = jweEncrypt(Buffer.from('all'), { recipients: [a.publicKey, b.publicKey, c.publicKey] }, { serialization: 'flattened' });
    const j = JSON.parse(r.text);
    expect(j.recipients.map((x: any) => x.header.alg)).toEqual(['RSA-OAEP-256', 'ECDH-ES+A256KW', 'ECDH-ES+A256KW']);
    for (const k of [a, b, c]) expect(jweDecrypt(r.text, { rsa: k.privateKey }).plaintext.toString()).toBe('all');
    expect(() => jweEncrypt(Buffer.from('x'), { recipients: [b.publicKey, c.publicKey] }, { wrap: 'ECDH-ES', serialization: 'flattened' })).toThrow(/several recipients/);
  });
});

describe('hostile epk', () => {
  const { privateKey, publicKey } = pair('P-256');
  const good = jweEncrypt(Buffer.from('secret'), { rsa: publicKey }, { wrap: 'ECDH-ES+A128KW' }).text;
  const h = header(good);
  const attempt = (epk: unknown) => () => jweDecrypt(withHeader(good, { ...h, epk }), { rsa: privateKey });

  it('a point not on the curve (y + 1) is refused before any agreement', () => {
    const y = Buffer.from(h.epk.y, 'base64url');
    y[31] ^= 1;
    expect(attempt({ ...h.epk, y: y.toString('base64url') })).toThrow(/not a point on P-256/);
  });
  it('the invalid-curve attack point of Wycheproof (tcId with InvalidCurveAttack) is refused', () => {
    const d = vector<{ testGroups: { tests: EcdhCase[] }[] }>('ecdh_secp256r1_test.json');
    const t = d.testGroups[0]!.tests.find((x) => x.flags.includes('InvalidCurveAttack'))!;
    const jwk = createPublicKeyJwkUnchecked(t.public);
    expect(attempt(jwk)).toThrow(FormatError);
  });
  it('coordinates of the wrong length (short, long, leading zero dropped) are refused', () => {
    const x = Buffer.from(h.epk.x, 'base64url');
    expect(attempt({ ...h.epk, x: x.subarray(1).toString('base64url') })).toThrow(/31 bytes; P-256 needs 32/);
    expect(attempt({ ...h.epk, x: Buffer.concat([Buffer.alloc(1), x]).toString('base64url') })).toThrow(/33 bytes/);
  });
  it('coordinates at or above p are refused (x = p)', () => {
    const p = Buffer.from('ffffffff00000001000000000000000000000000ffffffffffffffffffffffff', 'hex');
    expect(attempt({ ...h.epk, x: p.toString('base64url') })).toThrow(/not a point/);
  });
  it('the point at infinity (0, 0) is refused', () => {
    const z = Buffer.alloc(32).toString('base64url');
    expect(attempt({ kty: 'EC', crv: 'P-256', x: z, y: z })).toThrow(/not a point/);
  });
  it('an epk on another curve than the key is refused', () => {
    const other = jweEncrypt(Buffer.from('x'), { rsa: pair('P-384').publicKey }, { wrap: 'ECDH-ES' }).text;
    expect(() => jweDecrypt(other, { rsa: privateKey })).toThrow(KeyError);
    expect(() => jweDecrypt(other, { rsa: privateKey })).toThrow(/on P-384, but the key is on P-256/);
    expect(attempt({ kty: 'OKP', crv: 'X25519', x: Buffer.alloc(32, 9).toString('base64url') })).toThrow(/on X25519, but the key is on P-256/);
  });
  it('an epk with a private part, unknown crv, wrong kty or no epk is refused', () => {
    expect(attempt({ ...h.epk, d: 'AAAA' })).toThrow(/private key/);
    expect(attempt({ ...h.epk, crv: 'P-192' })).toThrow(/"crv" .* is not one/);
    expect(attempt({ ...h.epk, crv: 'secp256k1' })).toThrow(/"crv"/);
    expect(attempt({ ...h.epk, kty: 'OKP' })).toThrow(/goes with kty EC/);
    expect(attempt({ ...h.epk, kty: 'RSA' })).toThrow(/"kty" must be EC or OKP/);
    expect(attempt('not an object')).toThrow(/not a JSON object/);
    const { epk: _e, ...noEpk } = h;
    expect(() => jweDecrypt(withHeader(good, noEpk), { rsa: privateKey })).toThrow(/no "epk"/);
  });
  it('X25519 low-order points (all-zero shared secret) are refused', () => {
    const x = pair('X25519');
    const t = jweEncrypt(Buffer.from('x'), { rsa: x.publicKey }, { wrap: 'ECDH-ES' }).text;
    const hx = header(t);
    const lowOrder = [
      '0000000000000000000000000000000000000000000000000000000000000000',
      '0100000000000000000000000000000000000000000000000000000000000000',
      'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
      'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    ];
    for (const u of lowOrder) {
      expect(() => jweDecrypt(withHeader(t, { ...hx, epk: { kty: 'OKP', crv: 'X25519', x: hex(u).toString('base64url') } }), { rsa: x.privateKey }), u).toThrow(/no usable shared secret/);
    }
    expect(() => jweDecrypt(withHeader(t, { ...hx, epk: { ...hx.epk, x: hx.epk.x.slice(0, -3) } }), { rsa: x.privateKey })).toThrow(/bytes; X25519 needs 32/);
    expect(() => jweDecrypt(withHeader(t, { ...hx, epk: { ...hx.epk, y: hx.epk.x } }), { rsa: x.privateKey })).toThrow(/no "y"/);
  });
  it('ECDH-ES with a non-empty encrypted key, bad apu, or a public key only', () => {
    const t = jweEncrypt(Buffer.from('x'), { rsa: publicKey }, { wrap: 'ECDH-ES' }).text.split('.');
    t[1] = 'AAAA';
    expect(() => jweDecrypt(t.join('.'), { rsa: privateKey })).toThrow(/empty encrypted key/);
    expect(attempt(h.epk)).not.toThrow();
    expect(() => jweDecrypt(withHeader(good, { ...h, apu: 'not base64!' }), { rsa: privateKey })).toThrow(FormatError);
    expect(() => jweDecrypt(withHeader(good, { ...h, apu: 5 }), { rsa: privateKey })).toThrow(/"apu" is not a string/);
    expect(() => jweDecrypt(good, { rsa: publicKey })).toThrow(/private key, not the public key/);
  });
  it('an altered epk (another valid point) or encrypted key fails authentication uniformly', () => {
    expect(attempt(checkAndJwk(pair('P-256').publicKey))).toThrow(AuthError);
    const parts = good.split('.');
    const ek = Buffer.from(parts[1]!, 'base64url');
    ek[3] ^= 1;
    parts[1] = ek.toString('base64url');
    expect(() => jweDecrypt(parts.join('.'), { rsa: privateKey })).toThrow(AuthError);
  });
  it('an RSA key is not taken for ECDH-ES, nor an EC key for RSA-OAEP', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    expect(() => jweDecrypt(good, { rsa: rsa.privateKey })).toThrow(/P-256, P-384, P-521 or X25519/);
    const r = jweEncrypt(Buffer.from('x'), { rsa: rsa.publicKey }).text;
    expect(() => jweDecrypt(r, { rsa: privateKey })).toThrow(/needs an RSA key, but the key is an EC key/);
    expect(() => jweEncrypt(Buffer.from('x'), { rsa: publicKey }, { wrap: 'RSA-OAEP-256' })).toThrow(/needs an RSA key/);
    expect(() => jweEncrypt(Buffer.from('x'), { rsa: rsa.publicKey }, { wrap: 'ECDH-ES' })).toThrow(/needs a P-256/);
  });
  it('keys on curves ECDH-ES does not take are refused (secp256k1, Ed25519)', () => {
    const k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' });
    expect(() => checkPublic(k1.publicKey, undefined, 'key')).toThrow(/curve "secp256k1"/);
    const ed = generateKeyPairSync('ed25519');
    expect(() => checkPublic(ed.publicKey, undefined, 'key')).toThrow(/ed25519 key/);
  });
});

function checkAndJwk(k: KeyObject): Record<string, unknown> {
  return k.export({ format: 'jwk' }) as Record<string, unknown>;
}

/** The raw x, y of an uncompressed SPKI point, without any check (for building hostile epks). */
function createPublicKeyJwkUnchecked(spkiHex: string): Record<string, string> {
  const der = hex(spkiHex);
  const point = der.subarray(der.length - 65);
  expect(point[0]).toBe(4);
  expect(() => createPublicKey({ key: der, format: 'der', type: 'spki' })).toThrow();
  return { kty: 'EC', crv: 'P-256', x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33).toString('base64url') };
}
