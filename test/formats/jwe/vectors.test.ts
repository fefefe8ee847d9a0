// JWE against published vectors: RFC 7516 appendix A, the RFC 7520 cookbook,
// and Wycheproof AES key wrap and RSA-OAEP-256 at the primitive level.
import { createPrivateKey } from 'node:crypto';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { aesKwUnwrap, aesKwWrap } from '../../../src/crypto/keywrap.js';
import { rsaOaepDecrypt } from '../../../src/crypto/rsaOaep.js';
import { AuthError } from '../../../src/errors.js';
import { VECTORS, hex, oneLineError, run, tempDir, vector } from '../../helpers.js';

const dir = tempDir();
let fileNo = 0;
function keyFile(jwk: unknown): string {
  const f = join(dir, `k${fileNo++}.jwk`);
  writeFileSync(f, JSON.stringify(jwk), { mode: 0o600 });
  return f;
}

interface AppendixA {
  section: string;
  alg: string;
  enc: string;
  key: Record<string, string>;
  plaintext: string;
  compact: string;
}

describe('RFC 7516 appendix A', () => {
  const { examples } = vector<{ examples: AppendixA[] }>('rfc7516_appendix_a.json');
  for (const ex of examples) {
    if (ex.alg === 'RSA1_5') {
      it(`${ex.section} (${ex.alg}) is refused with a clear error, exit 4`, () => {
        for (const cmd of ['decrypt', 'verify']) {
          const r = run([cmd, '--key-file', keyFile(ex.key)], { input: ex.compact });
          expect(r.code).toBe(4);
          expect(r.out).toBe('');
          if (cmd === 'decrypt') expect(oneLineError(r.stderr)).toMatch(/"RSA1_5" is refused/);
        }
      });
    } else {
      it(`${ex.section} (${ex.alg} + ${ex.enc}) decrypts to the published plaintext`, () => {
        const r = run(['decrypt', '--key-file', keyFile(ex.key)], { input: ex.compact });
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        expect(r.out).toBe(ex.plaintext);
        const v = run(['verify', '--key-file', keyFile(ex.key)], { input: ex.compact });
        expect(v.code).toBe(0);
        expect(v.stderr).toMatch(/^OK - /);
      });
    }
  }
});

interface Cookbook {
  title: string;
  input: { plaintext: string; key: Record<string, string> };
  output: { compact: string; json: unknown; json_flat: unknown };
}

describe('RFC 7520 cookbook (test/vectors/jose)', () => {
  const files = readdirSync(join(VECTORS, 'jose')).filter((f) => f.endsWith('.json'));
  it('has the five samples (5.2, 5.4, 5.5, 5.6, 5.8)', () => expect(files.length).toBe(5));
  for (const f of files) {
    const c = vector<Cookbook>(`jose/${f}`);
    for (const form of ['compact', 'json', 'json_flat'] as const) {
      it(`${c.title}: ${form} decrypts`, () => {
        const input = form === 'compact' ? c.output.compact : JSON.stringify(c.output[form]);
        const r = run(['decrypt', '--key-file', keyFile(c.input.key)], { input });
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        expect(r.out).toBe(c.input.plaintext);
      });
    }
  }
});

interface KwCase {
  tcId: number;
  key: string;
  msg: string;
  ct: string;
  result: 'valid' | 'invalid' | 'acceptable';
  flags: string[];
}

describe('Wycheproof AES key wrap (RFC 3394)', () => {
  const d = vector<{ testGroups: { keySize: number; tests: KwCase[] }[] }>('aes_wrap_test.json');
  const all = d.testGroups.flatMap((g) => g.tests);
  it(`all ${all.length} cases`, () => {
    const counts = { valid: 0, invalid: 0, acceptableRefused: 0 };
    for (const t of all) {
      const kek = hex(t.key);
      if (t.result === 'valid') {
        expect(aesKwUnwrap(kek, hex(t.ct)).toString('hex'), `tcId ${t.tcId}`).toBe(t.msg);
        expect(aesKwWrap(kek, hex(t.msg)).toString('hex'), `tcId ${t.tcId}`).toBe(t.ct);
        counts.valid++;
      } else {
        // invalid: must be rejected. acceptable (8-byte keys, flag ShortKey):
        // RFC 3394 needs at least two 64-bit blocks, so aes-payload rejects them too.
        expect(() => aesKwUnwrap(kek, hex(t.ct)), `tcId ${t.tcId}`).toThrow(AuthError);
        if (t.result === 'invalid') counts.invalid++;
        else counts.acceptableRefused++;
      }
    }
    expect(counts).toEqual({ valid: 36, invalid: 126, acceptableRefused: 3 });
  });
});

interface OaepCase {
  tcId: number;
  msg: string;
  ct: string;
  label: string;
  result: 'valid' | 'invalid' | 'acceptable';
}

describe('Wycheproof RSA-OAEP-256 (2048-bit, SHA-256, MGF1-SHA-256)', () => {
  const d = vector<{ testGroups: { privateKeyPem: string; tests: OaepCase[] }[] }>('rsa_oaep_2048_sha256_mgf1sha256_test.json');
  it('valid cases decrypt; invalid ones fail without saying why', () => {
    let valid = 0;
    let invalid = 0;
    for (const g of d.testGroups) {
      const key = createPrivateKey(g.privateKeyPem);
      for (const t of g.tests) {
        const out = rsaOaepDecrypt(key, 'sha256', hex(t.ct), t.label ? hex(t.label) : undefined);
        if (t.result === 'valid') {
          expect(out?.toString('hex'), `tcId ${t.tcId}`).toBe(t.msg);
          valid++;
        } else {
          expect(out, `tcId ${t.tcId}`).toBeUndefined();
          invalid++;
        }
      }
    }
    expect({ valid, invalid }).toEqual({ valid: 18, invalid: 19 });
  });
});
