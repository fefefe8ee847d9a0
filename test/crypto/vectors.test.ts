// Primitive tests against third-party vectors shipped in test/vectors (sources and licences in test/vectors/README.md).
import { describe, expect, it } from 'vitest';
import { open } from '../../src/crypto/aead.js';
import type { Alg } from '../../src/crypto/algs.js';
import { GCM_MAX_NONCE_LEN } from '../../src/crypto/gcm.js';
import { cbcDecrypt, cbcEncrypt } from '../../src/crypto/cbc.js';
import { cbcHmacOpen, cbcHmacSeal } from '../../src/crypto/cbcHmac.js';
import { gcmOpen, gcmSeal } from '../../src/crypto/gcm.js';
import { AuthError, FormatError } from '../../src/errors.js';
import { hex, vector } from '../helpers.js';

interface Group<T> {
  keySize: number;
  ivSize: number;
  tagSize?: number;
  tests: T[];
}
interface AeadCase {
  tcId: number;
  key: string;
  iv: string;
  aad: string;
  msg: string;
  ct: string;
  tag: string;
  result: 'valid' | 'invalid' | 'acceptable';
  flags: string[];
}
interface CbcCase {
  tcId: number;
  key: string;
  iv: string;
  msg: string;
  ct: string;
  result: 'valid' | 'invalid' | 'acceptable';
}

function cases<T>(file: string): { group: Group<T>; t: T }[] {
  const d = vector<{ testGroups: Group<T>[] }>(file);
  return d.testGroups.flatMap((group) => group.tests.map((t) => ({ group, t })));
}

describe('Wycheproof AES-GCM', () => {
  const all = cases<AeadCase>('aes_gcm_test.json');
  it('has the expected number of cases', () => expect(all.length).toBe(316));
  let valid = 0;
  let invalid = 0;
  let unsupported = 0;
  for (const { group, t } of all) {
    it(`tcId ${t.tcId} (${t.result}, ${group.keySize}-bit key, ${group.ivSize}-bit IV)`, () => {
      const key = hex(t.key);
      const iv = hex(t.iv);
      const aad = hex(t.aad);
      if (iv.length > GCM_MAX_NONCE_LEN) {
        // node:crypto takes GCM IVs of 1 to 128 bytes; longer ones are refused as unsupported (exit 4).
        unsupported++;
        const alg = `A${group.keySize}GCM` as Alg;
        expect(() => open({ alg, nonce: iv, ciphertext: hex(t.ct), tag: hex(t.tag) }, key, aad)).toThrow(FormatError);
        return;
      }
      if (t.result === 'valid') {
        valid++;
        expect(gcmOpen(key, iv, hex(t.ct), hex(t.tag), aad).toString('hex')).toBe(t.msg);
        const sealed = gcmSeal(key, iv, hex(t.msg), aad);
        expect(sealed.ciphertext.toString('hex')).toBe(t.ct);
        expect(sealed.tag.toString('hex')).toBe(t.tag);
      } else {
        invalid++;
        expect(() => gcmOpen(key, iv, hex(t.ct), hex(t.tag), aad)).toThrow(AuthError);
      }
    });
  }
  it('ran every valid and invalid case', () => {
    console.log(`AES-GCM: ${valid} valid, ${invalid} invalid, ${unsupported} with IVs node:crypto does not support`);
    expect(unsupported).toBe(3);
    expect(valid + invalid + unsupported).toBe(316);
    expect(invalid).toBeGreaterThan(80);
  });
});

describe('Wycheproof AES-CBC-PKCS5', () => {
  const all = cases<CbcCase>('aes_cbc_pkcs5_test.json');
  it('has the expected number of cases', () => expect(all.length).toBe(216));
  for (const { t } of all) {
    it(`tcId ${t.tcId} (${t.result})`, () => {
      const key = hex(t.key);
      const iv = hex(t.iv);
      if (t.result === 'valid') {
        expect(cbcDecrypt(key, iv, hex(t.ct)).toString('hex')).toBe(t.msg);
        expect(cbcEncrypt(key, iv, hex(t.msg)).toString('hex')).toBe(t.ct);
      } else {
        expect(() => cbcDecrypt(key, iv, hex(t.ct))).toThrow(AuthError);
      }
    });
  }
});

describe('Wycheproof A128CBC-HS256', () => {
  const all = cases<AeadCase>('a128cbc_hs256_test.json');
  it('has the expected number of cases', () => expect(all.length).toBe(94));
  for (const { t } of all) {
    it(`tcId ${t.tcId} (${t.result})`, () => {
      const key = hex(t.key);
      const iv = hex(t.iv);
      const aad = hex(t.aad);
      if (t.result === 'valid') {
        expect(cbcHmacOpen(key, iv, hex(t.ct), hex(t.tag), aad).toString('hex')).toBe(t.msg);
        const s = cbcHmacSeal(key, iv, hex(t.msg), aad);
        expect(s.ciphertext.toString('hex')).toBe(t.ct);
        expect(s.tag.toString('hex')).toBe(t.tag);
        // The same through the algorithm dispatcher the formats use.
        expect(open({ alg: 'A128CBC-HS256', nonce: iv, ciphertext: hex(t.ct), tag: hex(t.tag) }, key, aad).toString('hex')).toBe(t.msg);
      } else {
        expect(() => cbcHmacOpen(key, iv, hex(t.ct), hex(t.tag), aad)).toThrow(AuthError);
      }
    });
  }
});

describe('RFC 7518 appendix B', () => {
  const d = vector<{ testCases: Record<string, string>[] }>('rfc7518_appendix_b.json');
  it('has B.1 to B.3', () => expect(d.testCases.map((c) => c.enc)).toEqual(['A128CBC-HS256', 'A192CBC-HS384', 'A256CBC-HS512']));
  for (const c of d.testCases) {
    it(`${c.section} ${c.enc}`, () => {
      const key = hex(c.K!);
      expect(Buffer.concat([hex(c.MAC_KEY!), hex(c.ENC_KEY!)]).equals(key)).toBe(true);
      const s = cbcHmacSeal(key, hex(c.IV!), hex(c.P!), hex(c.A!));
      expect(s.ciphertext.toString('hex')).toBe(c.E);
      expect(s.tag.toString('hex')).toBe(c.T);
      expect(cbcHmacOpen(key, hex(c.IV!), hex(c.E!), hex(c.T!), hex(c.A!)).toString('hex')).toBe(c.P);
      const bad = hex(c.T!);
      bad[0]! ^= 1;
      expect(() => cbcHmacOpen(key, hex(c.IV!), hex(c.E!), bad, hex(c.A!))).toThrow(AuthError);
    });
  }
});
